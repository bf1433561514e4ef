import { randomBytes } from 'node:crypto';
import {
  SotongError,
  type Device,
  type DeviceCredential,
  type DeviceEnrolment,
  type DevicePending,
  type DeviceProofClaims,
  type DeviceRefusal,
  type SessionGranted,
  type User,
} from '@sotong/protocol';
import { DeviceProofVerifier, type DeviceProof, type ProofOutcome } from '../auth/device-proof.js';
import { newSessionToken, tokenHash } from '../auth/tokens.js';
import { newId } from '../ids.js';
import type { DeviceRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { AccountService, Authenticated, Origin } from './accounts.js';
import type { ServiceDeps } from './context.js';
import { assertCan, type Actor } from './permissions.js';

/** Claims a transport vouches for; the service adds the hash of the token they are bound to. */
export type PresentedClaims = DeviceProofClaims extends infer C ? (C extends DeviceProofClaims ? Omit<C, 'tokenHash'> : never) : never;

/** A proof as a transport received it: what it vouches for, and the device's signature (absent: none was sent). */
export interface PresentedProof {
  claims: PresentedClaims;
  signature: string | undefined;
}

export interface DeviceAuthenticated extends Authenticated {
  deviceId: string;
}

/** What a refresh presents: the device's credential and its signature over a `refresh` proof. */
export interface RefreshRequest {
  deviceId: string;
  credential: string;
  timestamp: number;
  nonce: string;
  signature: string;
}

const DAY_MS = 86_400_000;
/** "Last seen" is written at most this often per device: a reconnect storm is no write storm. */
const SEEN_RESOLUTION_MS = 60_000;

function refused(reason: DeviceRefusal, message: string): SotongError {
  return new SotongError('unauthenticated', message, { reason });
}

function deviceView(row: DeviceRow, currentDeviceId: string | undefined): Device {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    platform: row.platform,
    publicKey: row.public_key,
    status: row.status as Device['status'],
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    current: row.id === currentDeviceId,
  };
}

/**
 * Devices: enrolment at sign-in, access tokens bound to a device key, renewal by the device's
 * credential, proof of possession on every connection and request, approval and revocation.
 */
export class DeviceService {
  readonly proofs: DeviceProofVerifier;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly accounts: AccountService,
  ) {
    this.proofs = new DeviceProofVerifier({ maxSkewMs: deps.limits.deviceProofMaxSkewSeconds * 1000, now: deps.now });
  }

  /**
   * The last step of a sign-in: the device is enrolled (or recognised by its key) and gets an
   * access token, or waits for approval when the workspace requires it. Runs in the sign-in's transaction.
   */
  async grant(tx: Store, user: User, enrolment: DeviceEnrolment, origin: Origin): Promise<SessionGranted | DevicePending> {
    const { now } = this.deps;
    const at = now();
    const credential = `dc_${randomBytes(32).toString('base64url')}`;
    const credentialExpiresAt = at + this.deps.limits.deviceCredentialTtlDays * DAY_MS;
    let device = await tx.devices.byKey(user.id, enrolment.publicKey);
    if (device?.status === 'revoked') throw refused('device_revoked', 'this device was revoked; sign in with a new device key');
    if (device) {
      await tx.devices.setCredential(device.id, tokenHash(credential), credentialExpiresAt);
      await tx.devices.seen(device.id, at);
    } else {
      const pending = await tx.devices.workspaceApprovalRequired(user.workspaceId);
      device = {
        id: newId('d', at),
        user_id: user.id,
        workspace_id: user.workspaceId,
        name: enrolment.name,
        platform: enrolment.platform,
        public_key: enrolment.publicKey,
        credential_hash: tokenHash(credential),
        credential_expires_at: credentialExpiresAt,
        status: pending ? 'pending' : 'active',
        first_seen_at: at,
        last_seen_at: at,
        approved_by: null,
        revoked_at: null,
      };
      await tx.devices.create(device);
      await this.accounts.audit(tx, {
        workspaceId: user.workspaceId,
        actorId: user.id,
        action: 'device.enrolled',
        target: device.id,
        address: origin.address,
        details: { name: device.name, platform: device.platform, status: device.status },
      });
    }
    const held: DeviceCredential = { deviceId: device.id, credential, expiresAt: credentialExpiresAt };
    if (device.status === 'pending') return { devicePending: true, device: held };
    return { ...(await this.issueToken(tx, user.id, device.id)), user, device: held };
  }

  /** A new access token for the device, without signing in again. */
  async refresh(request: RefreshRequest, origin: Origin): Promise<SessionGranted> {
    const { now } = this.deps;
    const device = await this.deps.store.read.devices.byId(request.deviceId);
    const refuse = async (reason: DeviceRefusal, message: string): Promise<never> => {
      await this.deps.queue.run(async (tx) => {
        await this.accounts.audit(tx, {
          workspaceId: device?.workspace_id ?? null,
          actorId: device?.user_id ?? null,
          action: 'device.refresh_refused',
          target: request.deviceId,
          address: origin.address,
          details: { reason },
        });
        return { result: undefined };
      });
      throw refused(reason, message);
    };
    if (!device) return refuse('device_unknown', 'no such device');
    if (device.credential_hash !== tokenHash(request.credential) || device.credential_expires_at <= now()) {
      return refuse('credential_invalid', 'the device credential is wrong or expired; sign in again');
    }
    if (device.status === 'revoked') return refuse('device_revoked', 'this device was revoked');
    // Waiting for approval is not an attack: the client asks again until approved, unaudited.
    if (device.status === 'pending') throw refused('device_pending', 'this device is waiting for approval');
    const claims: DeviceProofClaims = { kind: 'refresh', deviceId: device.id, timestamp: request.timestamp, nonce: request.nonce, tokenHash: tokenHash(request.credential) };
    const outcome = await this.verifyProof(device.public_key, { claims, signature: request.signature });
    if (!outcome.ok) return refuse(outcome.reason, 'the device signature does not hold');
    const authenticated = await this.accounts.actorFor(device.user_id);
    const at = now();
    const credentialExpiresAt = at + this.deps.limits.deviceCredentialTtlDays * DAY_MS;
    return this.deps.queue.run(async (tx) => {
      await tx.devices.seen(device.id, at, credentialExpiresAt);
      await tx.devices.dropExpiredTokens(device.id, at);
      const access = await this.issueToken(tx, device.user_id, device.id);
      return { result: { ...access, user: authenticated.user, device: { deviceId: device.id, credential: request.credential, expiresAt: credentialExpiresAt } } };
    });
  }

  /**
   * The one check behind every transport: the access token, and the device's signature over
   * what the transport vouches for. A token without a valid proof is refused and audited.
   */
  async authenticate(token: string, proof: PresentedProof, origin: Origin): Promise<DeviceAuthenticated> {
    const { userId, deviceId } = await this.prove(token, proof, origin);
    return { ...(await this.accounts.actorFor(userId)), deviceId };
  }

  /**
   * The whole check of `authenticate` — a live token, an active device, its proof — without
   * resolving the actor: for requests on a connection that already has one (long-poll). A
   * deactivated account has no live token, so it is refused here too.
   */
  async prove(token: string, proof: PresentedProof, origin: Origin): Promise<{ userId: string; deviceId: string }> {
    const hash = tokenHash(token);
    const row = await this.deps.store.read.devices.token(hash);
    if (!row || row.expires_at <= this.deps.now()) throw new SotongError('unauthenticated', 'invalid or expired token');
    const transport = proof.claims.kind === 'request' ? (proof.claims.method === 'MQTT-CONNECT' ? 'mqtt' : 'http') : proof.claims.kind === 'challenge' ? proof.claims.transport : 'refresh';
    const refuse = async (reason: DeviceRefusal, message: string): Promise<never> => {
      const [membership] = await this.deps.store.read.users.workspacesOf(row.user_id);
      await this.deps.queue.run(async (tx) => {
        await this.accounts.audit(tx, {
          workspaceId: membership?.workspace_id ?? null,
          actorId: row.user_id,
          action: 'device.proof_refused',
          target: row.device?.id ?? null,
          address: origin.address,
          details: { reason, transport },
        });
        return { result: undefined };
      });
      throw refused(reason, message);
    };
    if (!row.device) return refuse('device_required', 'this token is bound to no device; sign in again');
    if (row.device.status !== 'active') return refuse(row.device.status === 'revoked' ? 'device_revoked' : 'device_pending', 'this device may not connect');
    if (proof.signature === undefined) return refuse('proof_missing', 'a device proof is required with the token');
    const outcome = await this.verifyProof(row.device.public_key, { claims: { ...proof.claims, tokenHash: hash } as DeviceProofClaims, signature: proof.signature });
    if (!outcome.ok) return refuse(outcome.reason, 'the device proof does not hold');
    const now = this.deps.now();
    if (now - row.device.last_seen_at >= SEEN_RESOLUTION_MS) {
      const deviceId = row.device.id;
      await this.deps.queue.run(async (tx) => {
        await tx.devices.seen(deviceId, now);
        return { result: undefined };
      });
    }
    return { userId: row.user_id, deviceId: row.device.id };
  }

  /**
   * The proof checked on this node; with a store shared by several nodes (PostgreSQL), its nonce
   * is also claimed there, so a proof seen by one node is a replay on every other.
   */
  private async verifyProof(publicKey: string, proof: DeviceProof): Promise<ProofOutcome> {
    const outcome = this.proofs.verify(publicKey, proof);
    if (!outcome.ok || !outcome.once || this.deps.store.dialect !== 'postgres') return outcome;
    const { key, until } = outcome.once;
    const claimed = await this.deps.queue.run(async (tx) => ({ result: await tx.devices.claimProofNonce(key, until) }));
    return claimed ? outcome : { ok: false, reason: 'proof_replayed' };
  }

  /** Forgets nonces whose proofs would be refused as expired anyway. */
  async sweepProofNonces(): Promise<number> {
    if (this.deps.store.dialect !== 'postgres') return 0;
    const now = this.deps.now();
    return this.deps.queue.run(async (tx) => ({ result: await tx.devices.dropExpiredProofNonces(now) }));
  }

  async isActive(deviceId: string): Promise<boolean> {
    return (await this.deps.store.read.devices.byId(deviceId))?.status === 'active';
  }

  /** The user's devices (their own, or any user's for an admin). */
  async list(actor: Actor, userId: string, currentDeviceId?: string): Promise<Device[]> {
    assertCan(actor, 'device.read', { kind: 'device', workspaceId: actor.workspaceId, userId });
    const rows = await this.deps.store.read.devices.ofUser(userId);
    return rows.filter((r) => r.workspace_id === actor.workspaceId).map((r) => deviceView(r, currentDeviceId));
  }

  /** Revokes one device: its tokens end, its connections close on every node, it cannot renew. */
  async revoke(actor: Actor, deviceId: string): Promise<void> {
    const device = await this.deps.store.read.devices.byId(deviceId);
    if (!device || device.workspace_id !== actor.workspaceId) throw new SotongError('not_found', 'no such device');
    assertCan(actor, 'device.revoke', { kind: 'device', workspaceId: device.workspace_id, userId: device.user_id });
    await this.revokeDevices(actor, device.user_id, [device.id], 'device.revoked');
  }

  /** Revokes every device of the user (an admin's "sign out everywhere" for them). */
  async revokeAll(actor: Actor, userId: string): Promise<number> {
    assertCan(actor, 'device.revoke', { kind: 'device', workspaceId: actor.workspaceId, userId });
    const devices = await this.deps.store.read.devices.ofUser(userId);
    const ids = devices.filter((d) => d.workspace_id === actor.workspaceId).map((d) => d.id);
    if (!(await this.deps.store.read.users.workspaceRole(actor.workspaceId, userId))) throw new SotongError('not_found', 'no such user in this workspace');
    return (await this.revokeDevices(actor, userId, ids, 'device.revoked_all')).length;
  }

  /** A pending device becomes active: approved from another device of the same user, or by an admin. */
  async approve(actor: Actor, deviceId: string): Promise<Device> {
    const device = await this.deps.store.read.devices.byId(deviceId);
    if (!device || device.workspace_id !== actor.workspaceId) throw new SotongError('not_found', 'no such device');
    assertCan(actor, 'device.approve', { kind: 'device', workspaceId: device.workspace_id, userId: device.user_id });
    return this.deps.queue.run(async (tx) => {
      if (!(await tx.devices.approve(device.id, actor.userId))) throw new SotongError('conflict', `the device is ${device.status}, not pending`);
      await this.accounts.audit(tx, { workspaceId: actor.workspaceId, actorId: actor.userId, action: 'device.approved', target: device.id, details: { userId: device.user_id } });
      return { result: deviceView({ ...device, status: 'active', approved_by: actor.userId }, undefined) };
    });
  }

  /** An admin's queue: every device of the workspace waiting for approval. */
  async pending(actor: Actor): Promise<Device[]> {
    assertCan(actor, 'workspace.policy', { kind: 'workspace', workspaceId: actor.workspaceId });
    return (await this.deps.store.read.devices.pendingInWorkspace(actor.workspaceId)).map((r) => deviceView(r, undefined));
  }

  /** The workspace policy: new devices wait for approval. */
  async setApprovalRequired(actor: Actor, required: boolean): Promise<void> {
    assertCan(actor, 'workspace.policy', { kind: 'workspace', workspaceId: actor.workspaceId });
    await this.deps.queue.run(async (tx) => {
      await tx.devices.setWorkspaceApprovalRequired(actor.workspaceId, required);
      await this.accounts.audit(tx, { workspaceId: actor.workspaceId, actorId: actor.userId, action: 'policy.changed', details: { deviceApprovalRequired: required } });
      return { result: undefined };
    });
  }

  async approvalRequired(actor: Actor): Promise<boolean> {
    assertCan(actor, 'workspace.policy', { kind: 'workspace', workspaceId: actor.workspaceId });
    return this.deps.store.read.devices.workspaceApprovalRequired(actor.workspaceId);
  }

  private async revokeDevices(actor: Actor, userId: string, ids: string[], action: string): Promise<string[]> {
    return this.deps.queue.run(async (tx) => {
      const revoked = await tx.devices.revoke(ids, this.deps.now());
      for (const deviceId of revoked) {
        await this.accounts.audit(tx, { workspaceId: actor.workspaceId, actorId: actor.userId, action, target: deviceId, details: { userId } });
      }
      return { result: revoked, publish: revoked.map((deviceId) => ({ kind: 'device-revoked' as const, userId, deviceId })) };
    });
  }

  private async issueToken(tx: Store, userId: string, deviceId: string): Promise<{ token: string; expiresAt: number }> {
    const at = this.deps.now();
    const token = newSessionToken();
    const expiresAt = at + this.deps.limits.accessTokenTtlSeconds * 1000;
    await tx.devices.createToken(tokenHash(token), userId, deviceId, at, expiresAt);
    return { token, expiresAt };
  }
}

