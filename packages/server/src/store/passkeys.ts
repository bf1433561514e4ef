import type { Kysely } from 'kysely';
import type { Database, PasskeyRow } from './schema.js';

export type CeremonyPurpose = 'register' | 'second_factor' | 'passwordless';

export interface CeremonyRow {
  user_id: string | null;
  purpose: CeremonyPurpose;
  challenge: string;
  expires_at: number;
  login_challenge_hash: string | null;
}

/** WebAuthn credentials (passkeys) and the one-time challenges of registration and sign-in ceremonies. */
export class PasskeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: PasskeyRow): Promise<void> {
    await this.db.insertInto('passkeys').values(row).execute();
  }

  async byId(id: string): Promise<PasskeyRow | undefined> {
    return this.db.selectFrom('passkeys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async ofUser(userId: string): Promise<PasskeyRow[]> {
    return this.db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  }

  async any(userId: string): Promise<boolean> {
    return (await this.db.selectFrom('passkeys').select('id').where('user_id', '=', userId).limit(1).executeTakeFirst()) !== undefined;
  }

  /**
   * Moves the sign counter from `from` to `to` and records the use; false when another sign-in
   * moved it meanwhile (the same assertion, or a clone, used twice at once).
   */
  async recordUse(id: string, from: number, to: number, at: number): Promise<boolean> {
    const result = await this.db.updateTable('passkeys').set({ counter: to, last_used_at: at }).where('id', '=', id).where('counter', '=', from).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async remove(userId: string, id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('passkeys').where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  async createCeremony(hash: string, row: CeremonyRow): Promise<void> {
    await this.db.insertInto('webauthn_ceremonies').values({ token_hash: hash, ...row }).execute();
  }

  /** Takes a ceremony once: the second attempt with the same handle finds nothing. */
  async takeCeremony(hash: string): Promise<CeremonyRow | undefined> {
    const row = await this.db.selectFrom('webauthn_ceremonies').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    if (!row) return undefined;
    const gone = await this.db.deleteFrom('webauthn_ceremonies').where('token_hash', '=', hash).executeTakeFirst();
    if (Number(gone.numDeletedRows) !== 1) return undefined;
    return {
      user_id: row.user_id,
      purpose: row.purpose as CeremonyPurpose,
      challenge: row.challenge,
      expires_at: Number(row.expires_at),
      login_challenge_hash: row.login_challenge_hash,
    };
  }

  async dropExpiredCeremonies(before: number): Promise<void> {
    await this.db.deleteFrom('webauthn_ceremonies').where('expires_at', '<', before).execute();
  }
}
