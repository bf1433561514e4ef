import { createHash, randomBytes } from 'node:crypto';
import { SotongError, type DevicePending, type SecondStepRequired, type SessionGranted } from '@sotong/protocol';
import { newRecoveryCodes, newTotpSecret, totpStep, totpUri } from '../auth/totp.js';
import type { ChallengePurpose } from '../store/mfa.js';
import type { Store } from '../store/store.js';
import type { AccountService, Origin } from './accounts.js';
import type { ServiceDeps } from './context.js';
import { assertCan, type Actor } from './permissions.js';

const CHALLENGE_TTL_MS = 5 * 60_000;
const CHALLENGE_MAX_FAILURES = 5;
const RECOVERY_CODE = /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/;

const hash = (secret: string) => createHash('sha256').update(secret).digest('base64url');

/** Who is enrolling: a signed-in user, or someone halfway through a sign-in that requires enrolment. */
export type Enrollee = { actor: Actor } | { challenge: string };

/**
 * The second factor: TOTP (RFC 6238) with one-time recovery codes. A code is accepted once — a
 * replayed code is refused even within its 30 seconds — and wrong codes count as failed sign-ins.
 */
export class MfaService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly accounts: AccountService,
  ) {}

  /** After a correct password: the challenge for the second step, or null when none is due. */
  async beginSecondStep(tx: Store, userId: string, workspaceId: string): Promise<SecondStepRequired | null> {
    const [totp, passkey] = await Promise.all([tx.mfa.totp(userId), tx.passkeys.any(userId)]);
    const factors: ('totp' | 'passkey')[] = [...(totp?.enabled_at ? ['totp' as const] : []), ...(passkey ? ['passkey' as const] : [])];
    const purpose: ChallengePurpose | null = factors[0] ?? ((await tx.users.workspaceMfaRequired(workspaceId)) ? 'enroll' : null);
    if (!purpose) return null;
    const challenge = `ch_${randomBytes(24).toString('base64url')}`;
    const expiresAt = this.deps.now() + CHALLENGE_TTL_MS;
    await tx.mfa.createChallenge(hash(challenge), userId, purpose, expiresAt);
    return { mfa: purpose, challenge, expiresAt, ...(factors.length > 0 ? { factors } : {}) };
  }

  /** The second step of a sign-in: a code from the app, or a recovery code. */
  async completeSignIn(challenge: string, code: string, origin: Origin): Promise<SessionGranted | DevicePending> {
    const { user, workspaceId } = await this.pending(challenge, ['totp']);
    await this.accounts.refuseIfLocked(user.email, workspaceId, origin);
    const factor = RECOVERY_CODE.test(code.trim()) ? 'recovery_code' : 'totp';
    const ok = factor === 'recovery_code' ? await this.spendRecoveryCode(user.id, code.trim()) : await this.useTotp(user.id, code);
    if (ok !== true) {
      await this.countChallengeFailure(challenge);
      await this.accounts.recordFailedSignIn(user.email, workspaceId, user.id, origin, ok === 'replayed' ? 'replayed_code' : `wrong_${factor}`);
      throw new SotongError('unauthenticated', ok === 'replayed' ? 'that code was used already; wait for the next one' : 'wrong code');
    }
    await this.dropChallenge(challenge);
    return this.accounts.issueSession(user.id, origin, { factor });
  }

  /** The account halfway through a sign-in whose second step a passkey may finish. */
  async pendingSecondStep(challenge: string) {
    return this.pending(challenge, ['totp', 'passkey']);
  }

  /** A wrong answer to the challenge: after a few, the challenge is dropped and the sign-in starts again. */
  async countChallengeFailure(challenge: string): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      await tx.mfa.failChallenge(hash(challenge));
      const row = await tx.mfa.challenge(hash(challenge));
      if (row && row.failures >= CHALLENGE_MAX_FAILURES) await tx.mfa.dropChallenge(hash(challenge));
      return { result: undefined };
    });
  }

  /** A new secret to show as a QR code; it counts only once a code from it is confirmed. */
  async startEnrolment(who: Enrollee): Promise<{ secret: string; uri: string }> {
    const user = await this.enrollee(who);
    const secret = newTotpSecret();
    await this.deps.queue.run(async (tx) => {
      const current = await tx.mfa.totp(user.id);
      if (current?.enabled_at) throw new SotongError('conflict', 'two-factor sign-in is on already; turn it off first');
      await tx.mfa.startTotp(user.id, secret);
      return { result: undefined };
    });
    return { secret, uri: totpUri(secret, user.email) };
  }

  /** Confirms the secret with a code from it: two-factor sign-in is on, and the recovery codes are shown once. */
  async confirmEnrolment(who: Enrollee, code: string, origin: Origin): Promise<{ recoveryCodes: string[]; session?: SessionGranted | DevicePending }> {
    const user = await this.enrollee(who);
    const recoveryCodes = newRecoveryCodes();
    const now = this.deps.now();
    await this.deps.queue.run(async (tx) => {
      const pending = await tx.mfa.totp(user.id);
      if (!pending || pending.enabled_at) throw new SotongError('bad_request', 'start the set-up first');
      const step = totpStep(pending.secret, code, now);
      if (step === null) throw new SotongError('bad_request', 'wrong code: check the device clock and try the next one');
      await tx.mfa.enableTotp(user.id, now, step);
      await tx.mfa.replaceRecoveryCodes(user.id, recoveryCodes.map(hash));
      await this.accounts.audit(tx, { workspaceId: user.workspaceId, actorId: user.id, action: 'mfa.enabled', target: user.id, address: origin.address });
      return { result: undefined };
    });
    if ('actor' in who) return { recoveryCodes };
    await this.dropChallenge(who.challenge);
    return { recoveryCodes, session: await this.accounts.issueSession(user.id, origin, { factor: 'totp_enrolment' }) };
  }

  /** Turning it off takes a current code, so a borrowed session alone cannot. */
  async disable(actor: Actor, code: string, origin: Origin): Promise<void> {
    if ((await this.deps.store.read.users.workspaceMfaRequired(actor.workspaceId))) {
      throw new SotongError('forbidden', 'this workspace requires two-factor sign-in');
    }
    if ((await this.useTotp(actor.userId, code)) !== true) throw new SotongError('unauthenticated', 'wrong code');
    await this.deps.queue.run(async (tx) => {
      await tx.mfa.disableTotp(actor.userId);
      await this.accounts.audit(tx, { workspaceId: actor.workspaceId, actorId: actor.userId, action: 'mfa.disabled', target: actor.userId, address: origin.address });
      return { result: undefined };
    });
  }

  /** The workspace policy: when required, everyone without a second factor enrols at their next sign-in. */
  async setRequired(actor: Actor, required: boolean): Promise<void> {
    assertCan(actor, 'workspace.policy', { kind: 'workspace', workspaceId: actor.workspaceId });
    await this.deps.queue.run(async (tx) => {
      await tx.users.setWorkspaceMfaRequired(actor.workspaceId, required);
      await this.accounts.audit(tx, { workspaceId: actor.workspaceId, actorId: actor.userId, action: 'policy.changed', details: { mfaRequired: required } });
      return { result: undefined };
    });
  }

  private async useTotp(userId: string, code: string): Promise<true | 'wrong' | 'replayed'> {
    const totp = await this.deps.store.read.mfa.totp(userId);
    if (!totp?.enabled_at) return 'wrong';
    const step = totpStep(totp.secret, code, this.deps.now());
    if (step === null) return 'wrong';
    return this.deps.queue.run(async (tx) => ({ result: (await tx.mfa.useStep(userId, step)) ? (true as const) : ('replayed' as const) }));
  }

  private async spendRecoveryCode(userId: string, code: string): Promise<true | 'wrong'> {
    const now = this.deps.now();
    return this.deps.queue.run(async (tx) => ({ result: (await tx.mfa.useRecoveryCode(userId, hash(code), now)) ? (true as const) : ('wrong' as const) }));
  }

  private async pending(challenge: string, purposes: readonly ChallengePurpose[]) {
    const row = await this.deps.store.read.mfa.challenge(hash(challenge));
    if (!row || !purposes.includes(row.purpose) || row.expires_at <= this.deps.now()) {
      throw new SotongError('unauthenticated', 'the sign-in expired or is unknown; start again');
    }
    const user = await this.deps.store.read.users.byId(row.user_id);
    const [membership] = await this.deps.store.read.users.workspacesOf(row.user_id);
    if (!user || !membership || user.deactivated_at !== null) throw new SotongError('unauthenticated', 'the account cannot sign in');
    return { user, workspaceId: membership.workspace_id };
  }

  private async enrollee(who: Enrollee): Promise<{ id: string; email: string; workspaceId: string }> {
    if ('actor' in who) {
      const user = await this.deps.store.read.users.byId(who.actor.userId);
      if (!user) throw new SotongError('not_found', 'no such user');
      return { id: user.id, email: user.email, workspaceId: who.actor.workspaceId };
    }
    const { user, workspaceId } = await this.pending(who.challenge, ['enroll']);
    return { id: user.id, email: user.email, workspaceId };
  }

  async dropChallenge(challenge: string): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      await tx.mfa.dropChallenge(hash(challenge));
      return { result: undefined };
    });
  }
}
