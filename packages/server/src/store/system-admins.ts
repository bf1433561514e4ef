import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Who holds the server-wide operator role. */
export class SystemAdminStore {
  constructor(private readonly db: Kysely<Database>) {}

  async has(userId: string): Promise<boolean> {
    return (await this.db.selectFrom('system_admins').select('user_id').where('user_id', '=', userId).executeTakeFirst()) !== undefined;
  }

  /** Returns false when the user held the role already. */
  async grant(userId: string, at: number, grantedBy: string | null): Promise<boolean> {
    const result = await this.db
      .insertInto('system_admins')
      .values({ user_id: userId, granted_at: at, granted_by: grantedBy })
      .onConflict((oc) => oc.column('user_id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  /** Returns false when the user did not hold the role. */
  async revoke(userId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('system_admins').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
