import { SotongError, type DevicePending, type SessionGranted } from '@sotong/protocol';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import type { AccountService, Origin } from './accounts.js';
import type { ServiceDeps } from './context.js';

export interface SetupRequest {
  /** The one-time password the first run printed (the setup link carries it). */
  code: string;
  workspaceName: string;
  displayName: string;
  password: string;
}

/**
 * Finishing the first run in the browser: the server made the workspace and its owner at first
 * start and printed a one-time password (and a link carrying it). Until the owner first signs in,
 * that code lets them name the workspace, say who they are and choose their own password, and
 * signs this device in. Once the owner has any device, the set-up is over.
 */
export class FirstRunService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly accounts: AccountService,
  ) {}

  /** Public: whether the first-run set-up is still open, and the workspace's current name. */
  async status(): Promise<{ open: boolean; workspaceName: string | null }> {
    const workspace = await this.deps.store.read.users.firstWorkspace();
    return { open: (await this.openOwner()) !== undefined, workspaceName: workspace?.name ?? null };
  }

  async complete(request: SetupRequest, origin: Origin): Promise<SessionGranted | DevicePending> {
    const found = await this.openOwner();
    if (!found) throw new SotongError('conflict', 'this workspace is set up already; sign in');
    const { user, workspace } = found;
    await this.accounts.refuseIfLocked(user.email, workspace.id, origin);
    if (!user.password_hash || !(await verifyPassword(request.code, user.password_hash))) {
      await this.accounts.recordFailedSignIn(user.email, workspace.id, user.id, origin, 'setup_code_wrong');
      throw new SotongError('unauthenticated', 'that set-up code is not the one the server printed');
    }
    const displayName = request.displayName.trim();
    const workspaceName = request.workspaceName.trim();
    if (!displayName || !workspaceName) throw new SotongError('bad_request', 'give the workspace a name, and yourself one');
    await this.accounts.checkNewPassword(request.password, { email: user.email, displayName }, { workspaceId: workspace.id, actorId: user.id, target: user.id, address: origin.address, during: 'workspace.set_up' });
    const hash = await hashPassword(request.password, this.deps.limits.scryptCost);
    await this.deps.queue.run(async (tx) => {
      await tx.users.setPasswordHash(user.id, hash);
      await tx.users.setDisplayName(user.id, displayName);
      await tx.users.renameWorkspace(workspace.id, workspaceName);
      await this.accounts.audit(tx, { workspaceId: workspace.id, actorId: user.id, action: 'workspace.set_up', target: workspace.id, address: origin.address, details: { workspaceName } });
      return { result: undefined };
    });
    return this.accounts.issueSession(user.id, origin, { factor: 'setup_code' });
  }

  /** The first workspace's owner while they have never signed in (no device of theirs, not even a revoked one). */
  private async openOwner() {
    const store = this.deps.store.read;
    const workspace = await store.users.firstWorkspace();
    const user = workspace && (await store.users.ownerOf(workspace.id));
    if (!workspace || !user || user.deactivated_at !== null) return undefined;
    if ((await store.devices.ofUser(user.id)).length > 0) return undefined;
    return { workspace, user };
  }
}
