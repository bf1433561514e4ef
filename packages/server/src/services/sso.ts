import { createHash, randomBytes } from 'node:crypto';
import { SotongError, type LoginResult, type WorkspaceRole } from '@sotong/protocol';
import { newId } from '../ids.js';
import type { MappedAttributes } from '../sso/saml-mapping.js';
import { SamlRefusal, type SamlRefusalReason } from '../sso/saml-refusal.js';
import type { SamlMemory, VerifiedAssertion } from '../sso/saml-sp.js';
import type { Store } from '../store/store.js';
import type { UserRow } from '../store/schema.js';
import type { AccountService, Origin } from './accounts.js';
import type { ServiceDeps } from './context.js';
import { assertCan, type Actor } from './permissions.js';

export interface SsoPolicy {
  provisionUsers: boolean;
  trustIdpMfa: boolean;
  codeTtlMs: number;
}

const hash = (secret: string) => createHash('sha256').update(secret).digest('base64url');

/**
 * What a verified SSO sign-in does to accounts: finds the user by the IdP's subject (or links one
 * by email, or provisions one), brings name, email and role up to date, and hands the browser a
 * one-time code that the app exchanges for a session. Also ends sessions on single logout.
 */
export class SsoService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly accounts: AccountService,
    private readonly policy: SsoPolicy,
  ) {}

  /** The SAML SP's memory (request ids, seen assertion ids), in the store so it holds across a cluster. */
  readonly memory: SamlMemory = {
    remember: (key, value, expiresAt) => this.write((tx) => tx.sso.remember(key, value, expiresAt, this.deps.now())),
    recall: (key) => this.deps.store.read.sso.recall(key, this.deps.now()),
    forget: (key) => this.write((tx) => tx.sso.forget(key)),
  };

  /** A verified assertion signs its subject in: returns the one-time code for the browser redirect. */
  async signIn(assertion: VerifiedAssertion, mapped: MappedAttributes, origin: Origin): Promise<string> {
    const workspaceId = await this.workspaceId();
    const code = `sso_${randomBytes(32).toString('base64url')}`;
    const now = this.deps.now();
    let userId: string | null = null;
    try {
      await this.deps.queue.run(async (tx) => {
        const user = await this.accountFor(tx, workspaceId, assertion, mapped, now);
        userId = user.id;
        if (user.deactivated_at !== null) throw new SamlRefusal('deactivated', 'this account is deactivated');
        const publish = await this.bringUpToDate(tx, workspaceId, user, mapped);
        const identity = {
          issuer: assertion.issuer,
          nameId: assertion.nameId,
          userId: user.id,
          nameIdFormat: assertion.nameIdFormat,
          sessionIndex: assertion.sessionIndex,
          attributes: JSON.stringify(mapped),
        };
        await tx.sso.saveIdentity(identity, now);
        const details = JSON.stringify({ issuer: assertion.issuer, initiatedBy: assertion.initiatedBy });
        await tx.sso.createCode(hash(code), user.id, now + this.policy.codeTtlMs, details);
        return { result: undefined, publish };
      });
    } catch (err) {
      if (!(err instanceof SamlRefusal)) throw err;
      throw await this.refuse(err, origin, { issuer: assertion.issuer, target: userId ?? mapped.email });
    }
    return code;
  }

  /** The app trades the one-time code for a session (or, when the IdP is not trusted for MFA, the second step). */
  async exchange(code: string, origin: Origin): Promise<LoginResult> {
    const now = this.deps.now();
    const taken = await this.deps.queue.run(async (tx) => ({ result: await tx.sso.takeCode(hash(code), now) }));
    if (!taken) throw await this.refuse(new SamlRefusal('bad_code', 'the sign-in code is unknown, used or expired; sign in again'), origin, {});
    const details = JSON.parse(taken.details) as { issuer: string; initiatedBy: string };
    if (!this.policy.trustIdpMfa) {
      const [membership] = await this.deps.store.read.users.workspacesOf(taken.userId);
      if (membership) {
        const second = await this.deps.queue.run(async (tx) => ({ result: await this.accounts.mfa.beginSecondStep(tx, taken.userId, membership.workspace_id) }));
        if (second) return second;
      }
    }
    return this.accounts.issueSession(taken.userId, origin, { factor: 'saml', ...details });
  }

  /** A refusal anywhere in SSO: audited, then thrown as `unauthenticated` with the reason. */
  async refuse(refusal: SamlRefusal, origin: Origin, context: { issuer?: string; target?: string | null }): Promise<SotongError> {
    const workspaceId = (await this.deps.store.read.users.firstWorkspace())?.id ?? null;
    await this.write((tx) =>
      this.accounts.audit(tx, {
        workspaceId,
        actorId: null,
        action: 'sso.refused',
        target: context.target ?? null,
        address: origin.address,
        details: { reason: refusal.reason, ...(context.issuer ? { issuer: context.issuer } : {}) },
      }),
    );
    return new SotongError('unauthenticated', refusal.message, { reason: refusal.reason satisfies SamlRefusalReason });
  }

  /** For admins: a user's SSO identities and the attributes last asserted (department and title among them). */
  async identitiesOf(actor: Actor, userId: string) {
    assertCan(actor, 'user.manage', { kind: 'workspace', workspaceId: actor.workspaceId });
    if (!(await this.deps.store.read.users.workspaceRole(actor.workspaceId, userId))) throw new SotongError('not_found', 'no such user in this workspace');
    const rows = await this.deps.store.read.sso.identitiesOf(userId);
    return rows.map((r) => ({ issuer: r.issuer, nameId: r.nameId, lastSeenAt: r.lastSeenAt, attributes: JSON.parse(r.attributes) as MappedAttributes }));
  }

  /**
   * The IdP ends the subject's SSO session: every Sotong session of that user ends, on every node,
   * and their devices cannot renew until they sign in again.
   */
  async endSessionsOfSubject(issuer: string, nameId: string, origin: Origin): Promise<boolean> {
    const identity = await this.deps.store.read.sso.identity(issuer, nameId);
    if (!identity) return false;
    await this.endSessions(identity.userId, null, 'idp', origin);
    return true;
  }

  /** SP-initiated logout: ends the user's sessions; returns their IdP subject for the LogoutRequest, if they came by SSO. */
  async logout(actor: Actor, origin: Origin) {
    const identity = await this.deps.store.read.sso.latestIdentityOf(actor.userId);
    await this.endSessions(actor.userId, actor.userId, 'sp', origin);
    return identity;
  }

  private async endSessions(userId: string, actorId: string | null, initiatedBy: 'idp' | 'sp', origin: Origin): Promise<void> {
    const [membership] = await this.deps.store.read.users.workspacesOf(userId);
    await this.deps.queue.run(async (tx) => {
      // Ending the access tokens is not enough: a device would renew with its credential.
      await tx.devices.signOutAll(userId, this.deps.now());
      await this.accounts.audit(tx, { workspaceId: membership?.workspace_id ?? null, actorId, action: 'sso.logout', target: userId, address: origin.address, details: { initiatedBy } });
      return { result: undefined, publish: [{ kind: 'user-revoked', userId, reason: 'logged_out' }] };
    });
  }

  /** The account of the subject: known by its NameID, else the account with the asserted email, else a new one. */
  private async accountFor(tx: Store, workspaceId: string, assertion: VerifiedAssertion, mapped: MappedAttributes, now: number): Promise<UserRow> {
    const identity = await tx.sso.identity(assertion.issuer, assertion.nameId);
    const known = identity && (await tx.users.byId(identity.userId));
    if (known) return known;
    const byEmail = await tx.users.byEmail(mapped.email);
    if (byEmail) {
      if (!(await tx.users.workspaceRole(workspaceId, byEmail.id))) throw new SamlRefusal('unknown_user', 'the account is not in this workspace');
      await this.accounts.audit(tx, { workspaceId, actorId: null, action: 'sso.linked', target: byEmail.id, details: { issuer: assertion.issuer, nameId: assertion.nameId } });
      return byEmail;
    }
    if (!this.policy.provisionUsers) throw new SamlRefusal('unknown_user', 'no account for this person, and provisioning is off');
    const row: UserRow = { id: newId('u', now), email: mapped.email, display_name: mapped.displayName, password_hash: null, created_at: now, deactivated_at: null };
    const role: WorkspaceRole = mapped.role ?? 'member';
    await tx.users.create(row);
    await tx.users.addToWorkspace(workspaceId, row.id, role, now);
    await this.accounts.audit(tx, { workspaceId, actorId: null, action: 'user.created', target: row.id, details: { role, source: 'saml', issuer: assertion.issuer } });
    return row;
  }

  /** Name, email and (when the IdP manages roles) role follow the assertion; an owner's role is never changed by it. */
  private async bringUpToDate(tx: Store, workspaceId: string, user: UserRow, mapped: MappedAttributes) {
    const changed: string[] = [];
    if (user.email !== mapped.email) {
      const holder = await tx.users.byEmail(mapped.email);
      if (holder && holder.id !== user.id) throw new SamlRefusal('unknown_user', 'the asserted email belongs to another account');
      changed.push('email');
    }
    if (user.display_name !== mapped.displayName) changed.push('displayName');
    if (changed.length > 0) {
      await tx.sso.updateUserProfile(user.id, { email: mapped.email, displayName: mapped.displayName });
      await this.accounts.audit(tx, { workspaceId, actorId: null, action: 'sso.user_updated', target: user.id, details: { changed } });
    }
    const current = await tx.users.workspaceRole(workspaceId, user.id);
    if (!mapped.role || !current || current === mapped.role || current === 'owner') return [];
    return [await this.accounts.writeRoleChange(tx, { workspaceId, actorId: null, userId: user.id, from: current, to: mapped.role, source: 'saml' })];
  }

  private async workspaceId(): Promise<string> {
    const ws = await this.deps.store.read.users.firstWorkspace();
    if (!ws) throw new SotongError('unavailable', 'no workspace yet');
    return ws.id;
  }

  private async write<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    return this.deps.queue.run(async (tx) => ({ result: await work(tx) }));
  }
}
