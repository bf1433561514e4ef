import type { Kysely } from 'kysely';
import type { CompiledQueries } from './compiled.js';
import type { Database, DeviceRow } from './schema.js';

/** Numbers come back as strings from pg's bigint: one place turns a row into numbers. */
function device(row: DeviceRow): DeviceRow {
  return {
    ...row,
    credential_expires_at: Number(row.credential_expires_at),
    first_seen_at: Number(row.first_seen_at),
    last_seen_at: Number(row.last_seen_at),
    revoked_at: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

export interface TokenRow {
  user_id: string;
  expires_at: number;
  /** Null for a token bound to no device (none are issued any more). */
  device: { id: string; public_key: string; status: string; last_seen_at: number } | null;
}

/** Enrolled devices, and the access tokens bound to them. */
export class DeviceStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly compiled: CompiledQueries,
  ) {}

  async create(row: DeviceRow): Promise<void> {
    await this.db.insertInto('devices').values(row).execute();
  }

  async byId(id: string): Promise<DeviceRow | undefined> {
    const row = await this.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    return row && device(row);
  }

  async byKey(userId: string, publicKey: string): Promise<DeviceRow | undefined> {
    const row = await this.db.selectFrom('devices').selectAll().where('user_id', '=', userId).where('public_key', '=', publicKey).executeTakeFirst();
    return row && device(row);
  }

  async ofUser(userId: string): Promise<DeviceRow[]> {
    const rows = await this.db.selectFrom('devices').selectAll().where('user_id', '=', userId).orderBy('first_seen_at').execute();
    return rows.map(device);
  }

  /** A new credential (a sign-in again on a known device) replaces the old one. */
  async setCredential(id: string, credentialHash: string, expiresAt: number): Promise<void> {
    await this.db.updateTable('devices').set({ credential_hash: credentialHash, credential_expires_at: expiresAt }).where('id', '=', id).execute();
  }

  async seen(id: string, at: number, credentialExpiresAt?: number): Promise<void> {
    await this.db
      .updateTable('devices')
      .set({ last_seen_at: at, ...(credentialExpiresAt !== undefined ? { credential_expires_at: credentialExpiresAt } : {}) })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Signs the user's devices out without revoking them: their credentials stop renewing and their
   * tokens end; the same keys may sign in again.
   */
  async signOutAll(userId: string, at: number): Promise<void> {
    await this.db.updateTable('devices').set({ credential_expires_at: at }).where('user_id', '=', userId).where('credential_expires_at', '>', at).execute();
    await this.db.deleteFrom('auth_sessions').where('user_id', '=', userId).execute();
  }

  async approve(id: string, by: string): Promise<boolean> {
    const result = await this.db.updateTable('devices').set({ status: 'active', approved_by: by }).where('id', '=', id).where('status', '=', 'pending').executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Revokes the devices not revoked yet and ends their tokens; returns the ids it revoked. */
  async revoke(ids: string[], at: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const live = await this.db.selectFrom('devices').select('id').where('id', 'in', ids).where('status', '!=', 'revoked').execute();
    const revoked = live.map((r) => r.id);
    if (revoked.length === 0) return [];
    await this.db.updateTable('devices').set({ status: 'revoked', revoked_at: at }).where('id', 'in', revoked).execute();
    await this.db.deleteFrom('auth_sessions').where('device_id', 'in', revoked).execute();
    return revoked;
  }

  async createToken(tokenHash: string, userId: string, deviceId: string, now: number, expiresAt: number): Promise<void> {
    await this.db.insertInto('auth_sessions').values({ token_hash: tokenHash, user_id: userId, device_id: deviceId, created_at: now, expires_at: expiresAt }).execute();
  }

  /** An access token with the device it is bound to, in one read (this runs for every request). */
  async token(tokenHash: string): Promise<TokenRow | undefined> {
    // Compiled once: it runs for every authenticated request, and for every long-poll poll.
    const { rows } = await this.compiled.run(
      this.db,
      'devices.token',
      (p: { tokenHash: string }) =>
        this.db
          .selectFrom('auth_sessions as s')
          .leftJoin('devices as d', 'd.id', 's.device_id')
          .select(['s.user_id', 's.expires_at', 'd.id', 'd.public_key', 'd.status', 'd.last_seen_at'])
          .where('s.token_hash', '=', p.tokenHash),
      { tokenHash },
    );
    const row = rows[0];
    if (!row) return undefined;
    const { id, public_key, status } = row;
    const device = id !== null && public_key !== null && status !== null ? { id, public_key, status, last_seen_at: Number(row.last_seen_at) } : null;
    return { user_id: row.user_id, expires_at: Number(row.expires_at), device };
  }

  /** Expired tokens of a device are of no use to anyone. */
  async dropExpiredTokens(deviceId: string, now: number): Promise<void> {
    await this.db.deleteFrom('auth_sessions').where('device_id', '=', deviceId).where('expires_at', '<=', now).execute();
  }

  /** Devices of the workspace waiting for approval, oldest first. */
  async pendingInWorkspace(workspaceId: string): Promise<DeviceRow[]> {
    const rows = await this.db.selectFrom('devices').selectAll().where('workspace_id', '=', workspaceId).where('status', '=', 'pending').orderBy('first_seen_at').execute();
    return rows.map(device);
  }

  async workspaceApprovalRequired(workspaceId: string): Promise<boolean> {
    const row = await this.db.selectFrom('workspaces').select('device_approval_required').where('id', '=', workspaceId).executeTakeFirst();
    return Number(row?.device_approval_required ?? 0) === 1;
  }

  async setWorkspaceApprovalRequired(workspaceId: string, required: boolean): Promise<void> {
    await this.db.updateTable('workspaces').set({ device_approval_required: required ? 1 : 0 }).where('id', '=', workspaceId).execute();
  }

  /** Records a request proof's nonce for every node; false when some node recorded it first (a replay). */
  async claimProofNonce(key: string, expiresAt: number): Promise<boolean> {
    const result = await this.db.insertInto('proof_nonces').values({ key, expires_at: expiresAt }).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async dropExpiredProofNonces(now: number): Promise<number> {
    const result = await this.db.deleteFrom('proof_nonces').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
