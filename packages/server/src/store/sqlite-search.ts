import { sql, type Kysely } from 'kysely';
import type { CompiledQueries } from './compiled.js';
import type { Database, MessageRow } from './schema.js';
import type { SearchFilter, SearchIndex } from './search.js';

/** FTS5 phrase syntax: a phrase is quoted, a quote inside is doubled. */
function phrase(tokens: readonly string[]): string {
  const last = tokens[tokens.length - 1] ?? '';
  // A lone trailing '*' marks a prefix token from the tokenizer (a single Hangul syllable).
  if (tokens.length === 1 && last.endsWith('*')) return `"${last.slice(0, -1).replaceAll('"', '""')}"*`;
  return `"${tokens.join(' ').replaceAll('"', '""')}"`;
}

/**
 * FTS5 writes a new segment for every transaction that touches it and merges segments as they
 * pile up: indexing each message in its commit-queue batch cost a third of a message's store time.
 * So a message's tokens go to `search_pending` in its own transaction (a plain b-tree append,
 * durable with the message) and the search indexer moves them into FTS5 a few thousand at a time.
 */
export class SqliteSearchIndex implements SearchIndex {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly compiled: CompiledQueries,
  ) {}

  async index(messageKey: number, tokens: readonly string[]): Promise<void> {
    if (tokens.length === 0) return;
    const row = { message_pk: messageKey, tokens: tokens.join(' ') };
    await this.compiled.run(this.db, 'search.index', (p) => this.db.insertInto('search_pending').values(p), row);
  }

  async remove(messageKey: number): Promise<void> {
    await this.db.deleteFrom('search_pending').where('message_pk', '=', messageKey).execute();
    await this.db.deleteFrom('message_search').where('rowid', '=', messageKey).execute();
  }

  async hasPending(): Promise<boolean> {
    const row = await this.db.selectFrom('search_pending').select('message_pk').limit(1).executeTakeFirst();
    return row !== undefined;
  }

  async flushPending(max: number): Promise<number> {
    const last = await this.db.selectFrom('search_pending').select('message_pk').orderBy('message_pk').offset(max - 1).limit(1).executeTakeFirst();
    const upTo = last?.message_pk ?? Number.MAX_SAFE_INTEGER;
    const moved = await sql`insert into message_search (rowid, tokens) select message_pk, tokens from search_pending where message_pk <= ${upTo} order by message_pk`.execute(this.db);
    await this.db.deleteFrom('search_pending').where('message_pk', '<=', upTo).execute();
    return Number(moved.numAffectedRows ?? 0);
  }

  /** FTS5 keeps a removed row's terms in its segments until they merge; 'optimize' merges them all (secure_delete zeroes the freed pages). */
  async compact(): Promise<void> {
    await sql`insert into message_search (message_search) values ('optimize')`.execute(this.db);
  }

  async query(f: SearchFilter): Promise<MessageRow[]> {
    if (f.phrases.length === 0 || f.readableChannelIds.length === 0) return [];
    const match = f.phrases.map(phrase).join(' AND ');
    let query = this.db
      .selectFrom('message_search as s')
      .innerJoin('messages as m', 'm.pk', 's.rowid')
      .selectAll('m')
      .where(sql<boolean>`message_search MATCH ${match}`)
      .where('m.channel_id', 'in', f.readableChannelIds)
      .where('m.deleted_at', 'is', null);
    if (f.channelId) query = query.where('m.channel_id', '=', f.channelId);
    if (f.fromUserId) query = query.where('m.sender_id', '=', f.fromUserId);
    if (f.beforeMs !== undefined) query = query.where('m.created_at', '<', f.beforeMs);
    if (f.afterMs !== undefined) query = query.where('m.created_at', '>=', f.afterMs);
    if (f.has === 'link') query = query.where('m.has_link', '=', 1);
    if (f.has === 'file') query = query.where('m.has_file', '=', 1);
    if (f.belowKey !== undefined) query = query.where('s.rowid', '<', f.belowKey);
    return query.orderBy('s.rowid', 'desc').limit(f.limit).execute();
  }
}
