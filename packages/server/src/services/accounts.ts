import { SotongError, type User } from '@sotong/protocol';
import { hashPassword, randomPassword, verifyPassword } from '../auth/passwords.js';
import { newSessionToken, tokenHash } from '../auth/tokens.js';
import { newId } from '../ids.js';
import type { ServiceDeps } from './context.js';
import { assertCan, type Actor } from './permissions.js';
import { userView } from './views.js';

const MIN_PASSWORD = 12;

export interface Authenticated {
  actor: Actor;
  user: User;
}

/** Email + password accounts and session tokens (the identity issue adds directory, SSO, 2FA, devices). */
export class AccountService {
  constructor(private readonly deps: ServiceDeps) {}

  /** First run: one workspace and its owner. Returns the generated password when none was configured. */
  async bootstrap(workspaceName: string, adminEmail: string, adminPassword?: string): Promise<{ created: boolean; password?: string }> {
    if (await this.deps.store.read.users.firstWorkspace()) return { created: false };
    const password = adminPassword ?? randomPassword();
    const hash = await hashPassword(password, this.deps.limits.scryptCost);
    const now = this.deps.now();
    const workspaceId = newId('w', now);
    await this.deps.queue.run(async (tx) => {
      await tx.users.createWorkspace(workspaceId, workspaceName, now);
      const userId = newId('u', now);
      await tx.users.create({ id: userId, email: adminEmail.toLowerCase(), display_name: 'Admin', password_hash: hash, created_at: now, deactivated_at: null });
      await tx.users.addToWorkspace(workspaceId, userId, 'owner', now);
      return { result: undefined };
    });
    return adminPassword ? { created: true } : { created: true, password };
  }

  async login(email: string, password: string): Promise<{ token: string; user: User }> {
    const user = await this.deps.store.read.users.byEmail(email);
    // Hash even when the user is unknown, so timing does not tell which emails exist.
    const ok = user?.password_hash ? await verifyPassword(password, user.password_hash) : (await hashPassword(password, 1024), false);
    if (!user || !ok || user.deactivated_at !== null) throw new SotongError('unauthenticated', 'wrong email or password');
    const [membership] = await this.deps.store.read.users.workspacesOf(user.id);
    if (!membership) throw new SotongError('forbidden', 'the account belongs to no workspace');
    const token = newSessionToken();
    const now = this.deps.now();
    await this.deps.queue.run(async (tx) => {
      await tx.users.createSession(tokenHash(token), user.id, now, now + this.deps.limits.sessionTtlHours * 3_600_000);
      return { result: undefined };
    });
    return { token, user: userView(user, membership.workspace_id, membership.role) };
  }

  async logout(token: string): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      await tx.users.deleteSession(tokenHash(token));
      return { result: undefined };
    });
  }

  async authenticate(token: string): Promise<Authenticated> {
    const store = this.deps.store.read;
    const session = await store.users.session(tokenHash(token));
    if (!session || Number(session.expires_at) <= this.deps.now()) throw new SotongError('unauthenticated', 'invalid or expired token');
    const user = await store.users.byId(session.user_id);
    const [membership] = await store.users.workspacesOf(session.user_id);
    if (!user || user.deactivated_at !== null || !membership) throw new SotongError('unauthenticated', 'invalid or expired token');
    const actor: Actor = { userId: user.id, workspaceId: membership.workspace_id, role: membership.role as Actor['role'] };
    return { actor, user: userView(user, actor.workspaceId, actor.role) };
  }

  async createUser(
    actor: Actor | 'system',
    input: { email: string; displayName: string; password?: string | undefined; role?: Actor['role'] | undefined; workspaceId?: string | undefined },
  ): Promise<User> {
    const workspaceId = actor === 'system' ? (input.workspaceId ?? (await this.defaultWorkspaceId())) : actor.workspaceId;
    if (actor !== 'system') assertCan(actor, 'user.create', { kind: 'workspace', workspaceId });
    if (input.password !== undefined) checkPasswordPolicy(input.password);
    const hash = input.password === undefined ? null : await hashPassword(input.password, this.deps.limits.scryptCost);
    const now = this.deps.now();
    const role = input.role ?? 'member';
    const email = input.email.toLowerCase();
    return this.deps.queue.run(async (tx) => {
      if (await tx.users.byEmail(email)) throw new SotongError('conflict', 'a user with this email exists');
      const row = { id: newId('u', now), email, display_name: input.displayName, password_hash: hash, created_at: now, deactivated_at: null };
      await tx.users.create(row);
      await tx.users.addToWorkspace(workspaceId, row.id, role, now);
      return { result: userView(row, workspaceId, role) };
    });
  }

  async resetPassword(email: string, password?: string): Promise<string> {
    const next = password ?? randomPassword();
    checkPasswordPolicy(next);
    const hash = await hashPassword(next, this.deps.limits.scryptCost);
    await this.deps.queue.run(async (tx) => {
      const user = await tx.users.byEmail(email);
      if (!user) throw new SotongError('not_found', 'no such user');
      await tx.users.setPasswordHash(user.id, hash);
      await tx.users.deleteSessionsOf(user.id);
      return { result: undefined };
    });
    return next;
  }

  async me(actor: Actor): Promise<User> {
    const user = await this.deps.store.read.users.byId(actor.userId);
    if (!user) throw new SotongError('not_found', 'no such user');
    return userView(user, actor.workspaceId, actor.role);
  }

  async list(actor: Actor, limit: number): Promise<User[]> {
    assertCan(actor, 'workspace.read', { kind: 'workspace', workspaceId: actor.workspaceId });
    const rows = await this.deps.store.read.users.listInWorkspace(actor.workspaceId, limit);
    return rows.map((r) => userView(r, actor.workspaceId, r.role));
  }

  private async defaultWorkspaceId(): Promise<string> {
    const ws = await this.deps.store.read.users.firstWorkspace();
    if (!ws) throw new SotongError('not_found', 'no workspace yet: start the server once');
    return ws.id;
  }
}

function checkPasswordPolicy(password: string): void {
  if (password.length < MIN_PASSWORD) {
    throw new SotongError('bad_request', `a password needs at least ${MIN_PASSWORD} characters`);
  }
}
