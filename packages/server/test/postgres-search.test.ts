import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../src/store/postgres-provider.js';
import type { SearchFilter } from '../src/store/search.js';
import type { StoreProvider } from '../src/store/store.js';
import { queryPhrases } from '../src/search/tokenize.js';
import { testDatabaseUrl } from './support/postgres.js';

const url = testDatabaseUrl();

/**
 * The PostgreSQL index looks at the newest keys first and at older ones through the GIN index
 * (store/postgres-search.ts). The server tests hold too few messages to reach the second step:
 * here 5,000 rows are written straight into the tables and every answer is checked against them.
 */
describe('PostgreSQL search over more rows than its recent window', { skip: url ? false : 'needs PostgreSQL: set SOTONG_TEST_DATABASE_URL=postgres://…' }, () => {
  const schema = `${process.env.SOTONG_TEST_SCHEMA_PREFIX ?? 't_'}search_${randomBytes(4).toString('hex')}`;
  let store: StoreProvider;
  const admin = () => new pg.Client({ connectionString: url });

  before(async () => {
    store = await openPostgresStore({ url: url!, poolSize: 2, statementTimeoutMs: 15_000, applicationName: 'sotong-test', schema });
    const db = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
    await db.connect();
    // Message i: channel c<i % 3>; every one says 'common'; every 1000th (from 7) also '회의록' and 'rare'.
    await db.query(`
      insert into messages (pk, id, channel_id, seq, sender_id, client_msg_id, content_format, content, created_at,
                            reply_count, mentions_channel, has_file, has_link)
      select i, 'm' || i, 'c' || (i % 3), i, 'u', 'k' || i, 'text/v1', '\\x00', i, 0, 0, 0, (i % 2)
      from generate_series(1, 5000) as i`);
    await db.query(`
      insert into message_search (message_pk, tsv)
      select i, to_tsvector('simple', 'common ' || case when i % 1000 = 7 then '회의 의록 rare' else 'other' end)
      from generate_series(1, 5000) as i`);
    await db.end();
  });
  after(async () => {
    await store?.close();
    const db = admin();
    await db.connect();
    await db.query(`drop schema if exists ${schema} cascade`);
    await db.end();
  });

  const all = ['c0', 'c1', 'c2'];
  const keys = async (f: Partial<SearchFilter> & { query: string }) => {
    const { query, ...rest } = f;
    const rows = await store.read.search.query({ phrases: queryPhrases(query), readableChannelIds: all, limit: 21, ...rest });
    return rows.map((r) => r.pk);
  };

  it('finds rare words beyond the window, newest first', async () => {
    assert.deepEqual(await keys({ query: 'rare' }), [4007, 3007, 2007, 1007, 7]);
    assert.deepEqual(await keys({ query: '회의록' }), [4007, 3007, 2007, 1007, 7]);
    assert.deepEqual(await keys({ query: '회' }), [4007, 3007, 2007, 1007, 7], 'a one-syllable prefix');
    assert.deepEqual(await keys({ query: '록회의' }), []);
  });

  it('fills a page of a common word from the newest rows', async () => {
    assert.deepEqual(await keys({ query: 'common' }), Array.from({ length: 21 }, (_, i) => 5000 - i));
  });

  it('pages across the window boundary', async () => {
    assert.deepEqual(await keys({ query: 'rare', limit: 2 }), [4007, 3007]);
    assert.deepEqual(await keys({ query: 'rare', limit: 2, belowKey: 3007 }), [2007, 1007]);
    assert.deepEqual(await keys({ query: 'rare', limit: 2, belowKey: 1007 }), [7]);
    assert.deepEqual(await keys({ query: 'common', limit: 3, belowKey: 2501 }), [2500, 2499, 2498]);
  });

  it('applies the filters in both steps', async () => {
    assert.deepEqual(await keys({ query: 'rare', readableChannelIds: ['c1'] }), [3007, 7]);
    assert.deepEqual(await keys({ query: 'rare', channelId: 'c1' }), [3007, 7]);
    assert.deepEqual(await keys({ query: 'rare', afterMs: 1000, beforeMs: 4000 }), [3007, 2007, 1007]);
    assert.deepEqual(await keys({ query: 'rare', has: 'link' }), [4007, 3007, 2007, 1007, 7]);
    assert.deepEqual(await keys({ query: 'common', has: 'link', limit: 3 }), [4999, 4997, 4995]);
    assert.deepEqual(await keys({ query: 'rare', fromUserId: 'nobody' }), []);
    await store.transaction(async (tx) => tx.messages.tombstone('m2007', 1));
    assert.deepEqual(await keys({ query: 'rare' }), [4007, 3007, 1007, 7], 'a deleted message is not found');
  });
});
