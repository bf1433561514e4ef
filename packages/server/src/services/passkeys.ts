import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { SotongError, type Ceremony, type DevicePending, type PasskeyInfo, type SessionGranted } from '@sotong/protocol';
import { createHash, randomBytes } from 'node:crypto';
import type { PasskeyRow } from '../store/schema.js';
import type { CeremonyPurpose, CeremonyRow } from '../store/passkeys.js';
import type { AccountService, Origin } from './accounts.js';
import type { ServiceDeps } from './context.js';
import type { Actor } from './permissions.js';

const CEREMONY_TTL_MS = 5 * 60_000;
const hash = (secret: string) => createHash('sha256').update(secret).digest('base64url');

/** Who we are to authenticators: the RP ID (a domain) and the web origins a ceremony may come from. */
export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
}

const view = (row: PasskeyRow): PasskeyInfo => ({
  id: row.id,
  name: row.name,
  createdAt: Number(row.created_at),
  lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  backedUp: Number(row.backed_up) === 1,
});

/**
 * Passkeys (WebAuthn, `@simplewebauthn/server`): registered by a signed-in user, then used either
 * as the second step after a password (in place of a TOTP code) or alone, for a passwordless
 * sign-in with a discoverable credential and user verification. Each ceremony's challenge is used
 * once; the authenticator's sign counter must grow (a counter that goes back means a cloned key).
 * Either way the sign-in ends like a password's: the device in `origin.device` is enrolled (or
 * recognised) and gets its session, or waits for approval.
 */
export class PasskeyService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly accounts: AccountService,
    readonly rp: RelyingParty,
  ) {}

  async list(actor: Actor): Promise<PasskeyInfo[]> {
    return (await this.deps.store.read.passkeys.ofUser(actor.userId)).map(view);
  }

  async registrationOptions(actor: Actor): Promise<Ceremony<PublicKeyCredentialCreationOptionsJSON>> {
    const store = this.deps.store.read;
    const user = await store.users.byId(actor.userId);
    if (!user) throw new SotongError('not_found', 'no such user');
    const existing = await store.passkeys.ofUser(user.id);
    const options = await generateRegistrationOptions({
      rpName: this.rp.name,
      rpID: this.rp.id,
      userName: user.email,
      userDisplayName: user.display_name,
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({ id: p.id, transports: transportsOf(p) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    });
    return { ceremony: await this.openCeremony({ userId: user.id, purpose: 'register', challenge: options.challenge }), options };
  }

  async register(actor: Actor, ceremony: string, response: RegistrationResponseJSON, name: string | undefined, origin: Origin): Promise<PasskeyInfo> {
    const pending = await this.takeCeremony(ceremony, 'register', actor.userId);
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: pending.challenge,
        expectedOrigin: this.rp.origins,
        expectedRPID: this.rp.id,
        requireUserVerification: false,
      });
    } catch (err) {
      await this.audit(actor.workspaceId, actor.userId, 'passkey.refused', origin, { step: 'register', reason: (err as Error).message });
      throw new SotongError('bad_request', 'the passkey could not be verified', { reason: (err as Error).message });
    }
    if (!verified.verified) throw new SotongError('bad_request', 'the passkey could not be verified');
    const { credential, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
    const now = this.deps.now();
    const row: PasskeyRow = {
      id: credential.id,
      user_id: actor.userId,
      public_key: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: JSON.stringify(credential.transports ?? []),
      name: (name ?? '').trim().slice(0, 100) || 'Passkey',
      device_type: credentialDeviceType,
      backed_up: credentialBackedUp ? 1 : 0,
      created_at: now,
      last_used_at: null,
    };
    await this.deps.queue.run(async (tx) => {
      if (await tx.passkeys.byId(row.id)) throw new SotongError('conflict', 'this passkey is registered already');
      await tx.passkeys.insert(row);
      await this.accounts.audit(tx, { workspaceId: actor.workspaceId, actorId: actor.userId, action: 'passkey.registered', target: actor.userId, address: origin.address, details: { passkeyId: row.id, deviceType: row.device_type } });
      return { result: undefined };
    });
    return view(row);
  }

  async remove(actor: Actor, passkeyId: string, origin: Origin): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      if (!(await tx.passkeys.remove(actor.userId, passkeyId))) throw new SotongError('not_found', 'no such passkey');
      await this.accounts.audit(tx, { workspaceId: actor.workspaceId, actorId: actor.userId, action: 'passkey.removed', target: actor.userId, address: origin.address, details: { passkeyId } });
      return { result: undefined };
    });
  }

  /** The second step after a password: options naming the account's passkeys. */
  async secondFactorOptions(challenge: string): Promise<Ceremony<PublicKeyCredentialRequestOptionsJSON>> {
    const { user } = await this.accounts.mfa.pendingSecondStep(challenge);
    const passkeys = await this.deps.store.read.passkeys.ofUser(user.id);
    if (passkeys.length === 0) throw new SotongError('bad_request', 'this account has no passkey; use the code step');
    const options = await generateAuthenticationOptions({
      rpID: this.rp.id,
      allowCredentials: passkeys.map((p) => ({ id: p.id, transports: transportsOf(p) })),
      userVerification: 'preferred',
    });
    const ceremony = await this.openCeremony({ userId: user.id, purpose: 'second_factor', challenge: options.challenge, loginChallenge: challenge });
    return { ceremony, options };
  }

  async completeSecondFactor(challenge: string, ceremony: string, response: AuthenticationResponseJSON, origin: Origin): Promise<SessionGranted | DevicePending> {
    const { user, workspaceId } = await this.accounts.mfa.pendingSecondStep(challenge);
    await this.accounts.refuseIfLocked(user.email, workspaceId, origin);
    const pending = await this.takeCeremony(ceremony, 'second_factor', user.id).catch(async (err: unknown) => {
      await this.accounts.recordFailedSignIn(user.email, workspaceId, user.id, origin, 'passkey_challenge_reused');
      throw err;
    });
    if (pending.login_challenge_hash !== hash(challenge)) throw new SotongError('unauthenticated', 'that passkey challenge belongs to another sign-in; start again');
    const failure = await this.verifyAssertion(pending, response, user.id, false);
    if (failure) {
      await this.accounts.mfa.countChallengeFailure(challenge);
      await this.accounts.recordFailedSignIn(user.email, workspaceId, user.id, origin, failure.reason);
      throw new SotongError('unauthenticated', failure.message);
    }
    await this.accounts.mfa.dropChallenge(challenge);
    return this.accounts.issueSession(user.id, origin, { factor: 'passkey', passkeyId: response.id });
  }

  /** A passwordless sign-in: no account named; the authenticator offers its discoverable credential. */
  async passwordlessOptions(): Promise<Ceremony<PublicKeyCredentialRequestOptionsJSON>> {
    const options = await generateAuthenticationOptions({ rpID: this.rp.id, userVerification: 'required' });
    return { ceremony: await this.openCeremony({ userId: null, purpose: 'passwordless', challenge: options.challenge }), options };
  }

  async completePasswordless(ceremony: string, response: AuthenticationResponseJSON, origin: Origin): Promise<SessionGranted | DevicePending> {
    const passkey = await this.deps.store.read.passkeys.byId(response.id);
    const user = passkey ? await this.deps.store.read.users.byId(passkey.user_id) : undefined;
    const [membership] = user ? await this.deps.store.read.users.workspacesOf(user.id) : [];
    const workspaceId = membership?.workspace_id ?? null;
    if (user) await this.accounts.refuseIfLocked(user.email, workspaceId, origin);
    const pending = await this.takeCeremony(ceremony, 'passwordless', null).catch(async (err: unknown) => {
      if (user) await this.accounts.recordFailedSignIn(user.email, workspaceId, user.id, origin, 'passkey_challenge_reused');
      else await this.failPasswordless(null, origin, 'passkey_challenge_reused');
      throw err;
    });
    if (!user || !passkey) {
      await this.failPasswordless(null, origin, 'unknown_passkey');
      throw new SotongError('unauthenticated', 'this passkey is not registered here');
    }
    const failure = await this.verifyAssertion(pending, response, user.id, true);
    if (failure) {
      await this.accounts.recordFailedSignIn(user.email, workspaceId, user.id, origin, failure.reason);
      throw new SotongError('unauthenticated', failure.message);
    }
    return this.accounts.issueSession(user.id, origin, { factor: 'passkey_passwordless', passkeyId: passkey.id });
  }

  /**
   * Checks an assertion against the stored passkey and moves its counter; the reason it failed
   * (for the audit log and the throttle), or null when it is good.
   */
  private async verifyAssertion(
    pending: CeremonyRow,
    response: AuthenticationResponseJSON,
    userId: string,
    passwordless: boolean,
  ): Promise<{ reason: string; message: string } | null> {
    const passkey = await this.deps.store.read.passkeys.byId(response.id);
    if (!passkey || passkey.user_id !== userId) return { reason: 'wrong_passkey', message: 'this passkey does not belong to the account' };
    if (passwordless) {
      // The discoverable credential names its user; it must be the one the passkey was registered for.
      const handle = response.response.userHandle ? Buffer.from(response.response.userHandle, 'base64url').toString('utf8') : null;
      if (handle !== userId) return { reason: 'wrong_passkey', message: 'this passkey does not belong to the account' };
    }
    const stored = Number(passkey.counter);
    let newCounter: number;
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: pending.challenge,
        expectedOrigin: this.rp.origins,
        expectedRPID: this.rp.id,
        credential: { id: passkey.id, publicKey: Buffer.from(passkey.public_key, 'base64url'), counter: stored, transports: transportsOf(passkey) },
        requireUserVerification: passwordless,
      });
      if (!result.verified) return { reason: 'bad_passkey_signature', message: 'the passkey could not be verified' };
      newCounter = result.authenticationInfo.newCounter;
    } catch (err) {
      const message = (err as Error).message;
      if (/counter/i.test(message)) return { reason: 'passkey_counter_regressed', message: 'the passkey sign counter went back: it may have been cloned' };
      if (/user verification/i.test(message)) return { reason: 'passkey_not_verified', message: 'the authenticator did not verify the user (PIN or biometrics)' };
      return { reason: 'bad_passkey_signature', message: 'the passkey could not be verified' };
    }
    const moved = await this.deps.queue.run(async (tx) => ({ result: await tx.passkeys.recordUse(passkey.id, stored, newCounter, this.deps.now()) }));
    if (!moved) return { reason: 'passkey_counter_regressed', message: 'the passkey was used by another sign-in at the same time' };
    return null;
  }

  private async failPasswordless(workspaceId: string | null, origin: Origin, reason: string): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      await this.accounts.audit(tx, { workspaceId, actorId: null, action: 'login.failed', target: null, address: origin.address, details: { reason, factor: 'passkey_passwordless' } });
      return { result: undefined };
    });
  }

  private async openCeremony(c: { userId: string | null; purpose: CeremonyPurpose; challenge: string; loginChallenge?: string }): Promise<string> {
    const handle = `wa_${randomBytes(24).toString('base64url')}`;
    const now = this.deps.now();
    await this.deps.queue.run(async (tx) => {
      await tx.passkeys.dropExpiredCeremonies(now);
      await tx.passkeys.createCeremony(hash(handle), {
        user_id: c.userId,
        purpose: c.purpose,
        challenge: c.challenge,
        expires_at: now + CEREMONY_TTL_MS,
        login_challenge_hash: c.loginChallenge ? hash(c.loginChallenge) : null,
      });
      return { result: undefined };
    });
    return handle;
  }

  /** The ceremony, once: a second use of the same handle (a replayed response) is refused. */
  private async takeCeremony(handle: string, purpose: CeremonyPurpose, userId: string | null): Promise<CeremonyRow> {
    const row = await this.deps.queue.run(async (tx) => ({ result: await tx.passkeys.takeCeremony(hash(handle)) }));
    if (!row || row.purpose !== purpose || row.user_id !== userId || row.expires_at <= this.deps.now()) {
      throw new SotongError('unauthenticated', 'the passkey challenge expired, was used already, or is unknown; start again');
    }
    return row;
  }

  private async audit(workspaceId: string, actorId: string, action: string, origin: Origin, details: Record<string, unknown>): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      await this.accounts.audit(tx, { workspaceId, actorId, action, target: actorId, address: origin.address, details });
      return { result: undefined };
    });
  }
}

function transportsOf(row: PasskeyRow): AuthenticatorTransportFuture[] {
  return JSON.parse(row.transports) as AuthenticatorTransportFuture[];
}
