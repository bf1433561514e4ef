import type { Kysely } from 'kysely';
import type { AuditRow, Database, NewAuditRow } from './schema.js';

/** The append-only audit log and the counters behind sign-in throttling. */
export class SecurityStore {
  constructor(private readonly db: Kysely<Database>) {}

  async audit(row: NewAuditRow): Promise<void> {
    await this.db.insertInto('audit_events').values(row).execute();
  }

  /** Newest first; `before` is the id of the last row of the previous page. */
  async auditPage(workspaceId: string, limit: number, before?: number): Promise<AuditRow[]> {
    let query = this.db.selectFrom('audit_events').selectAll().where('workspace_id', '=', workspaceId);
    if (before !== undefined) query = query.where('id', '<', before);
    const rows = await query.orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => ({ ...r, id: Number(r.id), at: Number(r.at) }));
  }

  async failures(key: string): Promise<{ failures: number; first_at: number; locked_until: number | null } | undefined> {
    const row = await this.db.selectFrom('login_failures').select(['failures', 'first_at', 'locked_until']).where('key', '=', key).executeTakeFirst();
    return row && { failures: Number(row.failures), first_at: Number(row.first_at), locked_until: row.locked_until === null ? null : Number(row.locked_until) };
  }

  /** Counts a failure in the current window (a new window starts when the old one is over); returns the count. */
  async recordFailure(key: string, now: number, windowMs: number): Promise<number> {
    const current = await this.failures(key);
    if (!current || current.first_at <= now - windowMs) {
      await this.db
        .insertInto('login_failures')
        .values({ key, failures: 1, first_at: now, locked_until: current?.locked_until ?? null })
        .onConflict((oc) => oc.column('key').doUpdateSet({ failures: 1, first_at: now }))
        .execute();
      return 1;
    }
    await this.db.updateTable('login_failures').set({ failures: current.failures + 1 }).where('key', '=', key).execute();
    return current.failures + 1;
  }

  async lock(key: string, until: number): Promise<void> {
    await this.db.updateTable('login_failures').set({ locked_until: until }).where('key', '=', key).execute();
  }

  async clear(key: string): Promise<void> {
    await this.db.deleteFrom('login_failures').where('key', '=', key).execute();
  }
}
