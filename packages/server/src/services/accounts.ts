import { SotongError, type AuditEvent, type DeviceEnrolment, type DevicePending, type LoginResult, type SessionGranted, type User, type WorkspaceRole } from '@sotong/protocol';
import { checkPasswordPolicy, type PasswordContext } from '../auth/password-policy.js';
import { hashPassword, randomPassword, verifyPassword } from '../auth/passwords.js';
import { tokenHash } from '../auth/tokens.js';
import { newId } from '../ids.js';
import type { ServiceDeps } from './context.js';
import type { DirectoryLogin, PasswordCheck } from './directory.js';
import { DeviceService } from './devices.js';
import { MfaService } from './mfa.js';
import { assertCan, PermissionDenied, type Actor, type Resource } from './permissions.js';
import type { UserRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { auditView, userView } from './views.js';

export interface Authenticated {
  actor: Actor;
  user: User;
}

/** Where a sign-in comes from, for throttling and the audit log; a sign-in also names the device it enrols. */
export interface Origin {
  address: string;
  device?: DeviceEnrolment | undefined;
}

export interface AuditEntry {
  workspaceId: string | null;
  actorId: string | null;
  action: string;
  target?: string | null;
  address?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Email + password accounts, session tokens, sign-in throttling, and the admin side: roles,
 * deactivation, the audit log. (Directory, SSO, 2FA and devices come with the identity work.)
 */
export class AccountService {
  readonly mfa: MfaService;
  /** Set when a directory (LDAP) is configured: its people's passwords are checked by binding there. */
  directory: DirectoryLogin | undefined;
  readonly devices: DeviceService;

  constructor(private readonly deps: ServiceDeps) {
    this.mfa = new MfaService(deps, this);
    this.devices = new DeviceService(deps, this);
  }

  /**
   * The password policy for a password someone chose; a refusal is audited (`password.refused`,
   * with the reason and where — never the password) and then thrown.
   */
  async checkNewPassword(password: string, who: PasswordContext, entry: Omit<AuditEntry, 'action' | 'details'> & { during: string }): Promise<void> {
    try {
      checkPasswordPolicy(password, this.deps.limits.passwordMinLength, who);
    } catch (err) {
      const { during, ...audited } = entry;
      const reason = err instanceof SotongError ? (err.details as { reason?: string } | undefined)?.reason : undefined;
      await this.deps.queue.run(async (tx) => {
        await this.audit(tx, { ...audited, action: 'password.refused', details: { reason, during } });
        return { result: undefined };
      });
      throw err;
    }
  }

  async audit(tx: Store, entry: AuditEntry): Promise<void> {
    await tx.security.audit({
      at: this.deps.now(),
      workspace_id: entry.workspaceId,
      actor_id: entry.actorId,
      action: entry.action,
      target: entry.target ?? null,
      address: entry.address ?? null,
      details: JSON.stringify(entry.details ?? {}),
    });
  }

  /**
   * Writes a refusal of a security-relevant action (`audit` in RULES) to the audit log as
   * `permission.denied`, once. Other errors, and routine refusals, pass by.
   */
  async recordRefusal(err: unknown, address?: string): Promise<void> {
    if (!(err instanceof PermissionDenied) || !err.audited || err.recorded) return;
    err.recorded = true;
    await this.deps.queue.run(async (tx) => {
      const details = { action: err.action, code: err.code };
      await this.audit(tx, { workspaceId: err.actor.workspaceId, actorId: err.actor.userId, action: 'permission.denied', target: err.target, address: address ?? null, details });
      return { result: undefined };
    });
  }

  /** First run: one workspace and its owner. Returns the generated password when none was configured. */
  async bootstrap(workspaceName: string, adminEmail: string, adminPassword?: string): Promise<{ created: boolean; password?: string }> {
    if (await this.deps.store.read.users.firstWorkspace()) return { created: false };
    if (adminPassword !== undefined) checkPasswordPolicy(adminPassword, this.deps.limits.passwordMinLength, { email: adminEmail, displayName: 'Admin' });
    const password = adminPassword ?? randomPassword();
    const hash = await hashPassword(password, this.deps.limits.scryptCost);
    const now = this.deps.now();
    const workspaceId = newId('w', now);
    await this.deps.queue.run(async (tx) => {
      await tx.users.createWorkspace(workspaceId, workspaceName, now);
      const userId = newId('u', now);
      await tx.users.create({ id: userId, email: adminEmail.toLowerCase(), display_name: 'Admin', password_hash: hash, created_at: now, deactivated_at: null });
      await tx.users.addToWorkspace(workspaceId, userId, 'owner', now);
      // The first-run admin is also the server's operator (docs/identity.md, "Permissions").
      await tx.systemAdmins.grant(userId, now, null);
      await this.audit(tx, { workspaceId, actorId: null, action: 'system_admin.granted', target: userId, details: { source: 'first_run' } });
      return { result: undefined };
    });
    return adminPassword ? { created: true } : { created: true, password };
  }

  /**
   * Too many failures lock the account, and separately the source address, for a while: guessing
   * is slow, and one attacker cannot lock everyone out from one address without being locked first.
   * With a second factor the password step answers a challenge instead of a session.
   */
  async login(identifier: string, password: string, origin: Origin): Promise<LoginResult> {
    const known = await this.findAccount(identifier);
    const [knownMembership] = known ? await this.deps.store.read.users.workspacesOf(known.id) : [];
    const email = known?.email ?? identifier.toLowerCase();
    await this.refuseIfLocked(email, knownMembership?.workspace_id ?? null, origin);
    const check = await this.checkPassword(known, identifier, password, knownMembership?.workspace_id ?? null, origin);
    const user = check.user;
    const [membership] = user ? await this.deps.store.read.users.workspacesOf(user.id) : [];
    const workspaceId = membership?.workspace_id ?? knownMembership?.workspace_id ?? check.workspaceId ?? null;
    if (!user || !check.ok || user.deactivated_at !== null || !membership) {
      const reason = (!check.ok ? check.reason : undefined) ?? (!user ? 'unknown_email' : user.deactivated_at !== null ? 'deactivated' : !membership ? 'no_workspace' : 'wrong_password');
      await this.recordFailedSignIn(email, workspaceId, user?.id ?? null, origin, reason);
      throw new SotongError('unauthenticated', 'wrong email or password');
    }
    const second = await this.deps.queue.run(async (tx) => ({ result: await this.mfa.beginSecondStep(tx, user.id, membership.workspace_id) }));
    if (second) return second;
    return this.issueSession(user.id, origin, { factor: 'password', ...(check.source ? { source: check.source } : {}) });
  }

  /** The account an identifier names: by email, else by directory sign-in name (uid, sAMAccountName). */
  private async findAccount(identifier: string): Promise<UserRow | undefined> {
    const store = this.deps.store.read;
    const byEmail = await store.users.byEmail(identifier);
    if (byEmail) return byEmail;
    const userId = await store.directory.userByLoginName(identifier);
    return userId ? store.users.byId(userId) : undefined;
  }

  /** A directory's people (and names only the directory knows) are checked there; everyone else here. */
  private async checkPassword(known: UserRow | undefined, identifier: string, password: string, workspaceId: string | null, origin: Origin): Promise<PasswordCheck> {
    const directory = this.directory;
    if (directory && (!known || (await directory.owns(known.id)))) {
      try {
        return await directory.verify(identifier, password, known);
      } catch (err) {
        // Not the person's fault: audited, but not counted towards a lockout.
        const workspace = workspaceId ?? (await directory.workspaceId().catch(() => null));
        await this.deps.queue.run(async (tx) => {
          await this.audit(tx, { workspaceId: workspace, actorId: known?.id ?? null, action: 'login.failed', target: known?.email ?? identifier.toLowerCase(), address: origin.address, details: { reason: 'ldap_unavailable' } });
          return { result: undefined };
        });
        throw err instanceof SotongError ? err : new SotongError('unavailable', 'the directory cannot be reached');
      }
    }
    // Hash even when the user is unknown, so timing does not tell which emails exist.
    const ok = known?.password_hash ? await verifyPassword(password, known.password_hash) : (await hashPassword(password, 1024), false);
    return { user: known, ok };
  }

  /** Refuses a sign-in step while the account or the source address is locked. */
  async refuseIfLocked(email: string, workspaceId: string | null, origin: Origin): Promise<void> {
    const { now } = this.deps;
    for (const key of [`account:${email.toLowerCase()}`, `address:${origin.address}`]) {
      const state = await this.deps.store.read.security.failures(key);
      if (!state?.locked_until || state.locked_until <= now()) continue;
      const retryAfterMs = state.locked_until - now();
      await this.deps.queue.run(async (tx) => {
        await this.audit(tx, { workspaceId, actorId: null, action: 'login.refused_locked', target: email.toLowerCase(), address: origin.address, details: { key: key.split(':')[0] } });
        return { result: undefined };
      });
      throw new SotongError('rate_limited', 'too many failed sign-ins; try again later', { retryAfterMs });
    }
  }

  /** Counts a failed sign-in step against the account and the address, locking either past its limit. */
  async recordFailedSignIn(email: string, workspaceId: string | null, userId: string | null, origin: Origin, reason: string): Promise<void> {
    const { limits, now } = this.deps;
    await this.deps.queue.run(async (tx) => {
      const at = now();
      await this.audit(tx, { workspaceId, actorId: userId, action: 'login.failed', target: email.toLowerCase(), address: origin.address, details: { reason } });
      const keys = [
        [`account:${email.toLowerCase()}`, limits.loginMaxFailures],
        [`address:${origin.address}`, limits.loginAddressMaxFailures],
      ] as const;
      for (const [key, max] of keys) {
        if ((await tx.security.recordFailure(key, at, limits.loginWindowMs)) < max) continue;
        await tx.security.lock(key, at + limits.loginLockoutMs);
        await this.audit(tx, { workspaceId, actorId: null, action: 'login.locked', target: key, address: origin.address, details: { lockoutMs: limits.loginLockoutMs } });
      }
      return { result: undefined };
    });
  }

  /**
   * The last step of every sign-in: the device enrolled (or recognised by its key) and an access
   * token bound to it — or the device left waiting for approval — the account's failure count
   * cleared, an audit entry.
   */
  async issueSession(userId: string, origin: Origin, details: Record<string, unknown>): Promise<SessionGranted | DevicePending> {
    const user = await this.deps.store.read.users.byId(userId);
    const [membership] = await this.deps.store.read.users.workspacesOf(userId);
    if (!user || !membership || user.deactivated_at !== null) throw new SotongError('unauthenticated', 'the account cannot sign in');
    const device = origin.device;
    const view = userView(user, membership.workspace_id, membership.role);
    const refuse = async (error: SotongError): Promise<never> => {
      await this.deps.queue.run(async (tx) => {
        await this.audit(tx, { workspaceId: membership.workspace_id, actorId: user.id, action: 'login.refused_device', target: user.email, address: origin.address, details: error.details as Record<string, unknown> });
        return { result: undefined };
      });
      throw error;
    };
    if (!device) return refuse(new SotongError('unauthenticated', 'sign in from a device: send its name, platform and public key', { reason: 'device_required' }));
    const known = await this.deps.store.read.devices.byKey(user.id, device.publicKey);
    if (known?.status === 'revoked') return refuse(new SotongError('unauthenticated', 'this device was revoked; sign in with a new device key', { reason: 'device_revoked' }));
    return this.deps.queue.run(async (tx) => {
      await tx.security.clear(`account:${user.email}`);
      const granted = await this.devices.grant(tx, view, device, origin);
      const deviceId = granted.device.deviceId;
      await this.audit(tx, { workspaceId: membership.workspace_id, actorId: user.id, action: 'login.succeeded', target: user.email, address: origin.address, details: { ...details, deviceId } });
      return { result: granted };
    });
  }

  async logout(token: string): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      await tx.users.deleteSession(tokenHash(token));
      return { result: undefined };
    });
  }

  /** Who a verified token or device credential acts as: refused once the account is deactivated or out of its workspace. */
  async actorFor(userId: string): Promise<Authenticated> {
    const store = this.deps.store.read;
    const user = await store.users.byId(userId);
    const [membership] = await store.users.workspacesOf(userId);
    if (!user || user.deactivated_at !== null || !membership) throw new SotongError('unauthenticated', 'invalid or expired token');
    const actor: Actor = {
      userId: user.id,
      workspaceId: membership.workspace_id,
      role: membership.role as Actor['role'],
      systemAdmin: await store.systemAdmins.has(user.id),
    };
    return { actor, user: userView(user, actor.workspaceId, actor.role) };
  }

  async createUser(
    actor: Actor | 'system',
    input: { email: string; displayName: string; password?: string | undefined; role?: Actor['role'] | undefined; workspaceId?: string | undefined },
  ): Promise<User> {
    const workspaceId = actor === 'system' ? (input.workspaceId ?? (await this.defaultWorkspaceId())) : actor.workspaceId;
    if (actor !== 'system') assertCan(actor, 'user.create', { kind: 'workspace', workspaceId });
    const actorId = actor === 'system' ? null : actor.userId;
    if (input.password !== undefined) await this.checkNewPassword(input.password, input, { workspaceId, actorId, target: input.email.toLowerCase(), during: 'user.create' });
    const hash = input.password === undefined ? null : await hashPassword(input.password, this.deps.limits.scryptCost);
    const now = this.deps.now();
    const role = input.role ?? 'member';
    const email = input.email.toLowerCase();
    return this.deps.queue.run(async (tx) => {
      if (await tx.users.byEmail(email)) throw new SotongError('conflict', 'a user with this email exists');
      const row = { id: newId('u', now), email, display_name: input.displayName, password_hash: hash, created_at: now, deactivated_at: null };
      await tx.users.create(row);
      await tx.users.addToWorkspace(workspaceId, row.id, role, now);
      await this.audit(tx, { workspaceId, actorId, action: 'user.created', target: row.id, details: { role } });
      return { result: userView(row, workspaceId, role) };
    });
  }

  async resetPassword(email: string, password?: string): Promise<string> {
    const next = password ?? randomPassword();
    const user = await this.deps.store.read.users.byEmail(email);
    if (!user) throw new SotongError('not_found', 'no such user');
    const [membership] = await this.deps.store.read.users.workspacesOf(user.id);
    const workspaceId = membership?.workspace_id ?? null;
    await this.checkNewPassword(next, { email: user.email, displayName: user.display_name }, { workspaceId, actorId: null, target: user.id, during: 'password.reset' });
    const hash = await hashPassword(next, this.deps.limits.scryptCost);
    await this.deps.queue.run(async (tx) => {
      await tx.users.setPasswordHash(user.id, hash);
      await tx.users.deleteSessionsOf(user.id);
      // Whoever knew the old password may have enrolled a device: every device signs in again.
      await tx.devices.revoke((await tx.devices.ofUser(user.id)).map((d) => d.id), this.deps.now());
      await this.audit(tx, { workspaceId, actorId: null, action: 'password.reset', target: user.id });
      return { result: undefined, publish: [{ kind: 'user-revoked', userId: user.id, reason: 'password_reset' }] };
    });
    return next;
  }

  /** Ends every session of the user at once, on every node, and refuses new ones. */
  async deactivate(actor: Actor, userId: string): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      const target = await this.person(tx, actor, userId);
      assertCan(actor, 'user.deactivate', target.resource);
      if (userId === actor.userId) throw new SotongError('bad_request', 'you cannot deactivate yourself');
      if (!target.user) throw new SotongError('not_found', 'no such user in this workspace');
      const revoked = await this.writeDeactivation(tx, userId);
      await this.audit(tx, { workspaceId: target.resource.workspaceId, actorId: actor.userId, action: 'user.deactivated', target: userId });
      return { result: undefined, publish: [revoked] };
    });
  }

  /**
   * The one deactivation write, by an admin or by the directory: the account refused from now on
   * (sign-in, and its devices' renewal, which asks `actorFor`), its access tokens deleted; the
   * returned event, once published, closes its live sockets on every node.
   */
  async writeDeactivation(tx: Store, userId: string): Promise<{ kind: 'user-revoked'; userId: string; reason: string }> {
    await tx.users.deactivate(userId, this.deps.now());
    await tx.users.deleteSessionsOf(userId);
    return { kind: 'user-revoked', userId, reason: 'deactivated' };
  }

  /** A changed role takes effect at once: live sessions are closed and reconnect with it. */
  async setRole(actor: Actor, userId: string, role: Exclude<WorkspaceRole, 'owner'>): Promise<User> {
    return this.deps.queue.run(async (tx) => {
      const target = await this.person(tx, actor, userId);
      assertCan(actor, 'user.role', target.resource);
      if (userId === actor.userId) throw new SotongError('bad_request', 'you cannot change your own role');
      if (!target.user) throw new SotongError('not_found', 'no such user in this workspace');
      const { workspaceId } = target.resource;
      const revoked = await this.writeRoleChange(tx, { workspaceId, actorId: actor.userId, userId, from: target.resource.role, to: role });
      return { result: userView(target.user, workspaceId, role), publish: [revoked] };
    });
  }

  /**
   * The person an admin action targets, as a permission resource. Someone who does not exist is
   * checked as a member of the actor's workspace, so only those allowed to act learn that.
   */
  private async person(tx: Store, actor: Actor, userId: string): Promise<{ user: UserRow | undefined; resource: Extract<Resource, { kind: 'user' }> }> {
    const [user, memberships] = await Promise.all([tx.users.byId(userId), tx.users.workspacesOf(userId)]);
    const membership = memberships.find((m) => m.workspace_id === actor.workspaceId) ?? memberships[0];
    if (!user || !membership) return { user: undefined, resource: { kind: 'user', workspaceId: actor.workspaceId, userId, role: 'member' } };
    return { user, resource: { kind: 'user', workspaceId: membership.workspace_id, userId, role: membership.role as WorkspaceRole } };
  }

  /**
   * The one role-change write, by an admin or by the identity provider (SSO groups, `source`):
   * audited, and the returned event, once published, cuts the user's live sessions.
   */
  async writeRoleChange(
    tx: Store,
    change: { workspaceId: string; actorId: string | null; userId: string; from: string; to: WorkspaceRole; source?: string },
  ): Promise<{ kind: 'user-revoked'; userId: string; reason: string }> {
    await tx.users.setRole(change.workspaceId, change.userId, change.to);
    const details = { from: change.from, to: change.to, ...(change.source ? { source: change.source } : {}) };
    await this.audit(tx, { workspaceId: change.workspaceId, actorId: change.actorId, action: 'role.changed', target: change.userId, details });
    return { kind: 'user-revoked', userId: change.userId, reason: 'role_changed' };
  }

  /**
   * The server-wide operator role, given and taken on the command line (`sotong admin
   * grant-system-admin`). The user's live sessions end, so they reconnect with the change.
   */
  async setSystemAdmin(email: string, granted: boolean): Promise<{ userId: string; changed: boolean }> {
    const user = await this.deps.store.read.users.byEmail(email);
    if (!user) throw new SotongError('not_found', 'no such user');
    const [membership] = await this.deps.store.read.users.workspacesOf(user.id);
    return this.deps.queue.run<{ userId: string; changed: boolean }>(async (tx) => {
      const at = this.deps.now();
      const changed = granted ? await tx.systemAdmins.grant(user.id, at, null) : await tx.systemAdmins.revoke(user.id);
      if (!changed) return { result: { userId: user.id, changed } };
      const action = granted ? 'system_admin.granted' : 'system_admin.revoked';
      await this.audit(tx, { workspaceId: membership?.workspace_id ?? null, actorId: null, action, target: user.id, details: { source: 'cli' } });
      return { result: { userId: user.id, changed }, publish: [{ kind: 'user-revoked', userId: user.id, reason: 'role_changed' }] };
    });
  }

  async auditLog(actor: Actor, limit: number, before?: number): Promise<AuditEvent[]> {
    assertCan(actor, 'audit.read', { kind: 'workspace', workspaceId: actor.workspaceId });
    return (await this.deps.store.read.security.auditPage(actor.workspaceId, limit, before)).map(auditView);
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
