import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { CompiledQueries } from './compiled.js';
import type { Database, MessageRow } from './schema.js';
import type { SearchFilter, SearchIndex } from './search.js';

/** On PostgreSQL `message_search` is a plain table: one tsvector per message, GIN-indexed. */
type PostgresSearchDb = Omit<Database, 'message_search'> & {
  message_search: { message_pk: number; tsv: string };
};

/** How many of the newest keys the first step tests without the index (see `query`). */
const RECENT_WINDOW = 2000;

/** A tsquery string literal: quoted, with quotes doubled and backslashes escaped. */
function tsLiteral(token: string): string {
  return `'${token.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/**
 * One phrase as a tsquery. Our tokens are already normalised and space-separated, so the parser
 * of the 'simple' configuration only splits them on those spaces, as it did when indexing, and
 * `phraseto_tsquery` requires them at consecutive positions.
 */
function phrase(tokens: readonly string[]): RawBuilder<unknown> {
  const last = tokens[tokens.length - 1] ?? '';
  // A lone trailing '*' marks a prefix token from the tokenizer (a single Hangul syllable).
  if (tokens.length === 1 && last.endsWith('*')) return sql`to_tsquery('simple', ${`${tsLiteral(last.slice(0, -1))}:*`}::text)`;
  return sql`phraseto_tsquery('simple', ${tokens.join(' ')}::text)`;
}

export class PostgresSearchIndex implements SearchIndex {
  private readonly db: Kysely<PostgresSearchDb>;

  constructor(
    db: Kysely<Database>,
    private readonly compiled: CompiledQueries,
  ) {
    this.db = db as unknown as Kysely<PostgresSearchDb>;
  }

  async index(messageKey: number, tokens: readonly string[]): Promise<void> {
    if (tokens.length === 0) return;
    await this.compiled.run(
      this.db,
      'search.index',
      (p) => this.db.insertInto('message_search').values({ message_pk: p.pk, tsv: sql<string>`to_tsvector('simple', ${p.text}::text)` }),
      { pk: messageKey, text: tokens.join(' ') },
    );
  }

  async remove(messageKey: number): Promise<void> {
    await this.db.deleteFrom('message_search').where('message_pk', '=', messageKey).execute();
  }

  // A tsvector row costs PostgreSQL about what the pending row would: it indexes at once.
  async hasPending(): Promise<boolean> {
    return false;
  }

  async flushPending(): Promise<number> {
    return 0;
  }

  /**
   * Newest first, in two steps, because a GIN index cannot return rows in key order:
   *
   * 1. Only the newest `RECENT_WINDOW` keys: a common word fills the page here at once (the
   *    planner walks the key range backwards), a rare one is looked up in the GIN index; either
   *    way the work is bounded, however large the table.
   * 2. If the page is not full, the match runs alone over the older rows as a materialized CTE,
   *    which PostgreSQL answers from the GIN index. Left to itself with `order by … limit`, the
   *    planner may instead walk the whole primary key for a rare word or a prefix, whose
   *    frequency it cannot estimate.
   */
  /** A removed row is gone from what any query sees; its old version waits for VACUUM like every table's. */
  async compact(): Promise<void> {}

  async query(f: SearchFilter): Promise<MessageRow[]> {
    if (f.phrases.length === 0 || f.readableChannelIds.length === 0) return [];
    const match = sql<boolean>`tsv @@ (${sql.join(f.phrases.map(phrase), sql` && `)})`;
    const top = f.belowKey ?? (await this.newestKey()) + 1;
    const floor = Math.max(0, top - RECENT_WINDOW);
    const recent = await this.filtered(f, match, { from: floor, below: top }, f.limit, false);
    if (recent.length >= f.limit || floor <= 0) return recent;
    const older = await this.filtered(f, match, { below: floor }, f.limit - recent.length, true);
    return [...recent, ...older];
  }

  private async newestKey(): Promise<number> {
    const row = await this.db.selectFrom('message_search').select((eb) => eb.fn.max('message_pk').as('pk')).executeTakeFirst();
    return Number(row?.pk ?? 0);
  }

  /** Messages with keys in `keys` that match and pass the filters, newest first. */
  private filtered(f: SearchFilter, match: RawBuilder<boolean>, keys: { from?: number; below: number }, limit: number, materialize: boolean) {
    return (
      this.db
        .with(
          (cte) => (materialize ? cte('hits').materialized() : cte('hits').notMaterialized()),
          (db) =>
            db
              .selectFrom('message_search')
              .select('message_pk')
              .where(match)
              .where('message_pk', '<', keys.below)
              .$if(keys.from !== undefined, (q) => q.where('message_pk', '>=', keys.from!)),
        )
        .selectFrom('hits')
        // Each hit, newest first, is looked up by key until the page is full. `limit 1` (the key is
        // unique) keeps PostgreSQL from flattening this into a join that might walk all messages.
        .innerJoinLateral(
          (eb) =>
            eb
              .selectFrom('messages')
              .selectAll()
              .whereRef('messages.pk', '=', 'hits.message_pk')
              .where('channel_id', 'in', f.readableChannelIds)
              .where('deleted_at', 'is', null)
              .$if(f.channelId !== undefined, (q) => q.where('channel_id', '=', f.channelId!))
              .$if(f.fromUserId !== undefined, (q) => q.where('sender_id', '=', f.fromUserId!))
              .$if(f.beforeMs !== undefined, (q) => q.where('created_at', '<', f.beforeMs!))
              .$if(f.afterMs !== undefined, (q) => q.where('created_at', '>=', f.afterMs!))
              .$if(f.has === 'link', (q) => q.where('has_link', '=', 1))
              .$if(f.has === 'file', (q) => q.where('has_file', '=', 1))
              .limit(1)
              .as('m'),
          (join) => join.onTrue(),
        )
        .selectAll('m')
        .orderBy('hits.message_pk', 'desc')
        .limit(limit)
        .execute()
    );
  }
}
