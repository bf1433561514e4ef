import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { person, spawnServer, type SpawnedServer } from './support/fixtures.js';
import { queryStore, testDatabaseUrl } from './support/postgres.js';

const onPostgres = testDatabaseUrl() !== undefined;
/** The scans below need the text to be visible while stored; with encryption at rest it never is (at-rest.test.ts). */
const PLAINTEXT = { SOTONG_AT_REST: 'false' };

/** Posts a message to keep and one to delete (after an edit); returns with the server still running. */
async function postEditDelete(server: SpawnedServer): Promise<void> {
  const alice = await person(server, 'Alice');
  const a = await alice.connect();
  const channel = await a.call<ChannelView>('channel.create', { name: 'regrets' });
  const keep = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'k', text: 'this sentence stays put' });
  const gone = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'g', text: 'the password is swordfish-4711' });
  await a.call('message.edit', { messageId: gone.id, text: 'the password was changed from swordfish-4711' });
  await a.call('message.delete', { messageId: gone.id });
  a.close();
  assert.ok(keep.id);
}

describe('deleting a message removes its content from the store', () => {
  it(
    'leaves no copy of the text or its earlier versions in the database files',
    { skip: onPostgres ? 'reads the SQLite files; on PostgreSQL the next test scans the tables instead' : false },
    async () => {
      const server = await spawnServer({ env: PLAINTEXT });
      await postEditDelete(server);
      await server.stop();

      const files = readdirSync(server.dataDir).filter((f) => f.startsWith('sotong.sqlite'));
      const bytes = Buffer.concat(files.map((f) => readFileSync(join(server.dataDir, f))));
      assert.ok(bytes.includes(Buffer.from('this sentence stays put')), 'the scan can see stored text');
      assert.ok(!bytes.includes(Buffer.from('password is swordfish')), 'the original text is gone');
      assert.ok(!bytes.includes(Buffer.from('changed from swordfish')), 'the edited text is gone');
    },
  );

  it(
    'leaves no row in any table holding the text or its earlier versions (PostgreSQL)',
    { skip: onPostgres ? false : 'needs PostgreSQL (SOTONG_TEST_DATABASE_URL); the SQLite test above scans the files' },
    async () => {
      const server = await spawnServer({ env: PLAINTEXT });
      try {
        await postEditDelete(server);
        // Every row of every table of the schema as text; bytea shows there as hex, so look for both.
        // (Old row versions stay in the table files until VACUUM reclaims them: see docs/storage.md.)
        const holders = (needle: string) =>
          queryStore(server, async (db) => {
            const { rows: tables } = await db.query<{ name: string }>(
              `select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
            );
            const found: string[] = [];
            const hex = Buffer.from(needle).toString('hex');
            for (const { name } of tables) {
              const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from ${name} t where t::text like $1 or t::text like $2`, [
                `%${needle}%`,
                `%${hex}%`,
              ]);
              if (rows[0]!.n > 0) found.push(name);
            }
            // The search index holds tokens, not text: a deleted message must have no entry matching them.
            const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from message_search where tsv @@ to_tsquery('simple', $1)`, [
              needle.split(' ').join(' & '),
            ]);
            if (rows[0]!.n > 0) found.push('message_search (tokens)');
            return found;
          });
        assert.deepEqual(await holders('this sentence stays put'), ['messages', 'message_search (tokens)'], 'the scan can see stored text');
        assert.deepEqual(await holders('password is swordfish'), [], 'the original text is gone');
        assert.deepEqual(await holders('changed from swordfish'), [], 'the edited text is gone');
      } finally {
        await server.stop();
      }
    },
  );
});
