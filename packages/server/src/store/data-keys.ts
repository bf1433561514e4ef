import type { Kysely } from 'kysely';
import type { DataKeyRow, Database } from './schema.js';

function row(r: DataKeyRow): DataKeyRow {
  return {
    ...r,
    version: Number(r.version),
    created_at: Number(r.created_at),
    expires_at: r.expires_at === null ? null : Number(r.expires_at),
    retired_at: r.retired_at === null ? null : Number(r.retired_at),
    uses: Number(r.uses),
    wrapped: Buffer.from(r.wrapped),
  };
}

/** Wrapped data keys. The store never sees a key in plaintext. */
export class DataKeyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async byId(id: string): Promise<DataKeyRow | undefined> {
    const r = await this.db.selectFrom('data_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return r && row(r);
  }

  /** The scope's newest key, retired or not. */
  async newest(scope: string): Promise<DataKeyRow | undefined> {
    const r = await this.db.selectFrom('data_keys').selectAll().where('scope', '=', scope).orderBy('version', 'desc').limit(1).executeTakeFirst();
    return r && row(r);
  }

  async insert(key: DataKeyRow): Promise<void> {
    await this.db.insertInto('data_keys').values(key).execute();
  }

  async retire(id: string, at: number): Promise<void> {
    await this.db.updateTable('data_keys').set({ retired_at: at }).where('id', '=', id).where('retired_at', 'is', null).execute();
  }

  async addUses(id: string, uses: number): Promise<void> {
    await this.db
      .updateTable('data_keys')
      .set((eb) => ({ uses: eb('uses', '+', uses) }))
      .where('id', '=', id)
      .execute();
  }

  /** Crypto-shredding: the wrapped keys are deleted, so what they sealed can no longer be opened. */
  async destroyScope(scope: string): Promise<number> {
    const result = await this.db.deleteFrom('data_keys').where('scope', '=', scope).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async destroyWorkspace(workspaceId: string): Promise<number> {
    const result = await this.db.deleteFrom('data_keys').where('workspace_id', '=', workspaceId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** The next page of keys still wrapped under another CMK than `cmkId`, in id order after `afterId`. */
  async notUnder(cmkId: string, afterId: string, limit: number): Promise<DataKeyRow[]> {
    const rows = await this.db.selectFrom('data_keys').selectAll().where('cmk_id', '!=', cmkId).where('id', '>', afterId).orderBy('id').limit(limit).execute();
    return rows.map(row);
  }

  /** Replaces a key's wrapping, only if nobody rewrapped it meanwhile; true if it did. */
  async rewrapped(id: string, fromCmkId: string, cmkId: string, wrapped: Uint8Array): Promise<boolean> {
    const result = await this.db.updateTable('data_keys').set({ cmk_id: cmkId, wrapped }).where('id', '=', id).where('cmk_id', '=', fromCmkId).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** How many keys each CMK version wraps, and how many scopes there are. */
  async census(): Promise<{ byCmk: Record<string, number>; scopes: number; total: number }> {
    const rows = await this.db.selectFrom('data_keys').select((eb) => ['cmk_id', eb.fn.countAll<string | number>().as('n')]).groupBy('cmk_id').execute();
    const scopes = await this.db.selectFrom('data_keys').select((eb) => eb.fn.count<string | number>('scope').distinct().as('n')).executeTakeFirst();
    const byCmk = Object.fromEntries(rows.map((r) => [r.cmk_id, Number(r.n)]));
    return { byCmk, scopes: Number(scopes?.n ?? 0), total: Object.values(byCmk).reduce((a, b) => a + b, 0) };
  }
}
