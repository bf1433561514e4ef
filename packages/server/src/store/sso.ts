import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface SsoIdentity {
  issuer: string;
  nameId: string;
  userId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
  attributes: string;
}

/** Single sign-on: who each IdP subject is, the SAML ids seen or awaited, and the one-time sign-in codes. */
export class SsoStore {
  constructor(private readonly db: Kysely<Database>) {}

  async identity(issuer: string, nameId: string): Promise<SsoIdentity | undefined> {
    const row = await this.db.selectFrom('sso_identities').selectAll().where('issuer', '=', issuer).where('name_id', '=', nameId).executeTakeFirst();
    return row && toIdentity(row);
  }

  async identitiesOf(userId: string): Promise<(SsoIdentity & { lastSeenAt: number })[]> {
    const rows = await this.db.selectFrom('sso_identities').selectAll().where('user_id', '=', userId).orderBy('last_seen_at', 'desc').execute();
    return rows.map((row) => ({ ...toIdentity(row), lastSeenAt: Number(row.last_seen_at) }));
  }

  /** The identity the user signed in with most recently (for logout at the IdP). */
  async latestIdentityOf(userId: string): Promise<SsoIdentity | undefined> {
    const row = await this.db.selectFrom('sso_identities').selectAll().where('user_id', '=', userId).orderBy('last_seen_at', 'desc').limit(1).executeTakeFirst();
    return row && toIdentity(row);
  }

  async saveIdentity(identity: SsoIdentity, at: number): Promise<void> {
    const changes = {
      user_id: identity.userId,
      name_id_format: identity.nameIdFormat,
      session_index: identity.sessionIndex,
      attributes: identity.attributes,
      last_seen_at: at,
    };
    await this.db
      .insertInto('sso_identities')
      .values({ issuer: identity.issuer, name_id: identity.nameId, first_seen_at: at, ...changes })
      .onConflict((oc) => oc.columns(['issuer', 'name_id']).doUpdateSet(changes))
      .execute();
  }

  /** The name and email the IdP asserts are the account's: updated at each sign-in. */
  async updateUserProfile(userId: string, profile: { email: string; displayName: string }): Promise<void> {
    await this.db.updateTable('users').set({ email: profile.email, display_name: profile.displayName }).where('id', '=', userId).execute();
  }

  /** Adds a key unless a live one exists; false when it does (a replay). Expired keys are swept on the way. */
  async remember(key: string, value: string, expiresAt: number, now: number): Promise<boolean> {
    await this.db.deleteFrom('saml_cache').where('expires_at', '<=', now).execute();
    const result = await this.db.insertInto('saml_cache').values({ key, value, expires_at: expiresAt }).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async recall(key: string, now: number): Promise<string | undefined> {
    const row = await this.db.selectFrom('saml_cache').select('value').where('key', '=', key).where('expires_at', '>', now).executeTakeFirst();
    return row?.value;
  }

  async forget(key: string): Promise<void> {
    await this.db.deleteFrom('saml_cache').where('key', '=', key).execute();
  }

  async createCode(codeHash: string, userId: string, expiresAt: number, details: string): Promise<void> {
    await this.db.insertInto('sso_codes').values({ code_hash: codeHash, user_id: userId, expires_at: expiresAt, details }).execute();
  }

  /** Spends a code: it is deleted whatever its state, and returned only if it had not expired. */
  async takeCode(codeHash: string, now: number): Promise<{ userId: string; details: string } | undefined> {
    const row = await this.db.selectFrom('sso_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
    if (!row) return undefined;
    const deleted = await this.db.deleteFrom('sso_codes').where('code_hash', '=', codeHash).executeTakeFirst();
    await this.db.deleteFrom('sso_codes').where('expires_at', '<=', now).execute();
    if (Number(deleted.numDeletedRows) !== 1 || Number(row.expires_at) <= now) return undefined;
    return { userId: row.user_id, details: row.details };
  }
}

function toIdentity(row: Database['sso_identities']): SsoIdentity {
  return {
    issuer: row.issuer,
    nameId: row.name_id,
    userId: row.user_id,
    nameIdFormat: row.name_id_format,
    sessionIndex: row.session_index,
    attributes: row.attributes,
  };
}
