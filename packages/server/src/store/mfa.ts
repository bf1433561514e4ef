import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** What the password step's challenge waits for: a second factor (TOTP, or a passkey when that is all the user has), or enrolment. */
export type ChallengePurpose = 'totp' | 'passkey' | 'enroll';

/** Second factors: TOTP secrets, recovery codes, and the short-lived challenge between password and code. */
export class MfaStore {
  constructor(private readonly db: Kysely<Database>) {}

  async totp(userId: string): Promise<{ secret: string; enabled_at: number | null; last_step: number } | undefined> {
    const row = await this.db.selectFrom('user_totp').select(['secret', 'enabled_at', 'last_step']).where('user_id', '=', userId).executeTakeFirst();
    return row && { secret: row.secret, enabled_at: row.enabled_at === null ? null : Number(row.enabled_at), last_step: Number(row.last_step) };
  }

  /** A new, not yet confirmed secret replaces any earlier unconfirmed one. */
  async startTotp(userId: string, secret: string): Promise<void> {
    await this.db
      .insertInto('user_totp')
      .values({ user_id: userId, secret, enabled_at: null, last_step: 0 })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ secret, enabled_at: null, last_step: 0 }))
      .execute();
  }

  async enableTotp(userId: string, at: number, step: number): Promise<void> {
    await this.db.updateTable('user_totp').set({ enabled_at: at, last_step: step }).where('user_id', '=', userId).execute();
  }

  /** Records the step just used; false if it (or a later one) was used already: a replay. */
  async useStep(userId: string, step: number): Promise<boolean> {
    const result = await this.db
      .updateTable('user_totp')
      .set({ last_step: step })
      .where('user_id', '=', userId)
      .where('last_step', '<', step)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async disableTotp(userId: string): Promise<void> {
    await this.db.deleteFrom('user_totp').where('user_id', '=', userId).execute();
    await this.db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
  }

  async replaceRecoveryCodes(userId: string, hashes: string[]): Promise<void> {
    await this.db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    await this.db.insertInto('recovery_codes').values(hashes.map((code_hash) => ({ user_id: userId, code_hash, used_at: null }))).execute();
  }

  /** Spends a recovery code; false if it is unknown or spent. */
  async useRecoveryCode(userId: string, hash: string, at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('recovery_codes')
      .set({ used_at: at })
      .where('user_id', '=', userId)
      .where('code_hash', '=', hash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async createChallenge(hash: string, userId: string, purpose: ChallengePurpose, expiresAt: number): Promise<void> {
    await this.db.insertInto('login_challenges').values({ token_hash: hash, user_id: userId, purpose, expires_at: expiresAt, failures: 0 }).execute();
  }

  async challenge(hash: string): Promise<{ user_id: string; purpose: ChallengePurpose; expires_at: number; failures: number } | undefined> {
    const row = await this.db.selectFrom('login_challenges').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    return row && { user_id: row.user_id, purpose: row.purpose as ChallengePurpose, expires_at: Number(row.expires_at), failures: Number(row.failures) };
  }

  async failChallenge(hash: string): Promise<void> {
    const row = await this.challenge(hash);
    if (row) await this.db.updateTable('login_challenges').set({ failures: row.failures + 1 }).where('token_hash', '=', hash).execute();
  }

  async dropChallenge(hash: string): Promise<void> {
    await this.db.deleteFrom('login_challenges').where('token_hash', '=', hash).execute();
  }
}
