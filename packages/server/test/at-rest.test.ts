import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import type { ChannelView, Message, SearchHit } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { queryStore, testDatabaseUrl } from './support/postgres.js';
import { download, infoWhen, upload } from './support/files.js';
import { filesUnder, postgresHolders } from './support/plaintext-scan.js';
import { initSoftHsmToken } from './support/softhsm.js';
import { openCore } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openContent } from '../src/keys/sealed.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const onPostgres = testDatabaseUrl() !== undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ENGLISH = 'The quarterly budget review moved to Friday';
const KOREAN = ['내일 회의는 10시입니다', '회의록을 공유해 주세요'];
const EDITED_FROM = 'confidential merger codename bluefin';
/** Words and syllables that must not appear anywhere in the store. */
const NEEDLES = ['quarterly', 'budget', 'Friday', '회의', '회의록을', '공유해', 'merger', 'bluefin'];


/** The SQLite database file and its WAL (and shared memory), read as bytes. */
function sqliteBytes(server: SpawnedServer): Buffer {
  return Buffer.concat(
    readdirSync(server.dataDir)
      .filter((f) => f.startsWith('sotong.sqlite'))
      .map((f) => readFileSync(join(server.dataDir, f))),
  );
}

async function holdersOf(server: SpawnedServer, needle: string): Promise<string[]> {
  if (onPostgres) return postgresHolders(server, needle);
  return sqliteBytes(server).includes(Buffer.from(needle)) ? ['sqlite file or WAL'] : [];
}

function suite(providerName: string, providerEnv: Record<string, string> | undefined, skip?: string) {
  describe(`encryption at rest (${providerName})`, { skip }, () => {
    let server: SpawnedServer;
    let alice: Person;
    let general: ChannelView;
    let secret: ChannelView;
    let edited: Message;
    // The search indexer waits: messages stay in SQLite's pending list until a search flushes it.
    const env = { SOTONG_AT_REST: 'true', SOTONG_SEARCH_INDEX_INTERVAL_MS: '3600000', ...providerEnv };
    const cli = (...args: string[]) =>
      run(process.execPath, [CLI, 'keys', ...args], { env: { ...process.env, ...env, ...server.storeEnv, DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' } });
    const call = async <T>(command: string, args: object): Promise<T> => {
      const client = await alice.connect();
      try {
        return await client.call<T>(command, args);
      } finally {
        client.close();
      }
    };
    const texts = async (channel: ChannelView) => (await call<{ messages: Message[] }>('messages.list', { channelId: channel.id })).messages.map((m) => m.text);
    const search = async (query: string) => (await call<{ hits: SearchHit[] }>('search', { query })).hits.map((h) => h.message.text).sort();

    before(async () => {
      server = await spawnServer({ env });
      alice = await person(server, 'Alice');
      general = await call<ChannelView>('channel.create', { name: 'general' });
      secret = await call<ChannelView>('channel.create', { name: 'projects' });
      await call('message.send', { channelId: general.id, clientMsgId: 'e1', text: ENGLISH });
      for (const [i, text] of KOREAN.entries()) await call('message.send', { channelId: general.id, clientMsgId: `k${i}`, text });
      edited = await call<Message>('message.send', { channelId: secret.id, clientMsgId: 's1', text: EDITED_FROM });
      await call('message.edit', { messageId: edited.id, text: 'the plan is public now' });
    });
    after(() => server?.stop());

    it('queues only keyed tokens in the search pending list (SQLite)', { skip: onPostgres && 'PostgreSQL indexes without a pending list' }, () => {
      const db = new Database(join(server.dataDir, 'sotong.sqlite'), { readonly: true });
      const pending = db.prepare<[], { tokens: string }>('select tokens from search_pending').all();
      db.close();
      assert.ok(pending.length >= KOREAN.length + 2, `the sent messages wait in search_pending (${pending.length})`);
      for (const { tokens } of pending) {
        assert.ok(tokens.split(' ').every((t) => /^[a-p]{20}$/.test(t)), `only keyed tokens: ${tokens}`);
        for (const needle of NEEDLES) assert.ok(!tokens.toLowerCase().includes(needle.toLowerCase()), `"${needle}" in search_pending`);
      }
    });

    it('serves and searches the messages as before: 회의 finds 회의는 and 회의록을', async () => {
      assert.deepEqual(await texts(general), [ENGLISH, ...KOREAN]);
      assert.deepEqual(await search('회의'), [...KOREAN].sort());
      assert.deepEqual(await search('budget review'), [ENGLISH]);
      assert.deepEqual(await search('회'), [...KOREAN].sort(), 'a lone syllable still finds the words holding it');
      assert.deepEqual((await call<{ edits: { text: string }[] }>('message.history', { messageId: edited.id })).edits.map((e) => e.text), [EDITED_FROM]);
      const hits = (await call<{ hits: SearchHit[] }>('search', { query: '회의록' })).hits;
      assert.equal(hits[0]?.snippet.slice(...hits[0]!.highlights[0]!), '회의록', 'snippets come from the decrypted text');
    });

    it('leaves none of the words in the database, its WAL, or any PostgreSQL table', async () => {
      for (const needle of NEEDLES) assert.deepEqual(await holdersOf(server, needle), [], `"${needle}" is stored somewhere`);
      // The scan does find what is stored in plaintext: a channel name.
      assert.notDeepEqual(await holdersOf(server, 'projects'), [], 'the scan can see plaintext');
    });

    it('seals file blobs and previews: nothing of the bytes in the blob folder, downloads and ranges intact', async () => {
      const FILE_NEEDLE = 'bluefin-attachment-7431 회의록 첨부\n';
      const text = Buffer.from(FILE_NEEDLE.repeat(5000)); // > 64 KiB: several chunks
      const file = await upload(server, alice.token, general.id, 'notes.txt', text);
      const png = await sharp({ create: { width: 600, height: 400, channels: 3, background: '#22aa66' } }).png().toBuffer();
      const image = await upload(server, alice.token, general.id, 'chart.png', png);
      assert.equal((await infoWhen(server, alice.token, image.id, (i) => i.hasPreview)).hasPreview, true);

      const whole = await download(server, alice.token, file.id);
      assert.deepEqual(Buffer.from(await whole.arrayBuffer()), text);
      const part = await download(server, alice.token, file.id, { range: 'bytes=65000-140000' });
      assert.equal(part.status, 206);
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), text.subarray(65000, 140001));
      assert.deepEqual(Buffer.from(await (await download(server, alice.token, image.id)).arrayBuffer()), png);
      assert.ok((await download(server, alice.token, `${image.id}/preview`)).ok);

      const blobs = filesUnder(join(server.dataDir, 'blobs')).filter((f) => !f.includes(`${join('blobs', 'tmp')}`));
      assert.ok(blobs.length >= 3, 'the file, the image and its preview');
      for (const path of blobs) {
        const bytes = readFileSync(path);
        assert.equal(bytes.subarray(0, 4).toString(), 'SBL2', `${path} is sealed under its channel's key`);
        assert.ok(!bytes.includes(Buffer.from('bluefin-attachment')) && !bytes.includes(Buffer.from('회의록')), `${path} holds none of the text`);
        assert.ok(!bytes.includes(png.subarray(0, 64)), `${path} holds none of the image`);
      }
    });

    it('rotates the master key online: every data key re-wrapped, messages untouched and still readable', async () => {
      const before = (await cli('status')).stdout;
      const oldCmk = /current master key: (\S+)/.exec(before)![1]!;
      const rotated = await cli('rotate-master');
      const newCmk = /master key (\S+) is current/.exec(rotated.stdout)![1]!;
      assert.notEqual(newCmk, oldCmk);
      const status = (await cli('status')).stdout;
      assert.match(status, new RegExp(`under ${newCmk.replace(/[/.]/g, '\\$&')}: \\d+ \\(current\\)`));
      assert.doesNotMatch(status, new RegExp(`under ${oldCmk.replace(/[/.]/g, '\\$&')}:`), 'no key left under the old CMK');
      assert.deepEqual(await texts(general), [ENGLISH, ...KOREAN], 'the running server reads on');
      await server.restart();
      assert.deepEqual(await texts(general), [ENGLISH, ...KOREAN], 'and after a restart, through the new CMK');
      assert.deepEqual(await search('회의'), [...KOREAN].sort());
    });

    it('refuses ciphertext swapped between rows or tampered with', async () => {
      const [first, second] = (await call<{ messages: Message[] }>('messages.list', { channelId: general.id })).messages;
      /** Rewrites stored content with the server down (SIGTERM: SQLite checkpoints; `stop` would drop a PostgreSQL schema). */
      const rewrite = async (change: (content: Map<string, Buffer>) => Map<string, Buffer>) => {
        await server.kill('SIGTERM');
        const ids = [first!.id, second!.id];
        if (onPostgres) {
          await queryStore(server, async (db) => {
            const { rows } = await db.query<{ id: string; content: Buffer }>('select id, content from messages where id = any($1)', [ids]);
            for (const [id, content] of change(new Map(rows.map((r) => [r.id, r.content])))) await db.query('update messages set content = $1 where id = $2', [content, id]);
          });
        } else {
          const db = new Database(join(server.dataDir, 'sotong.sqlite'));
          const rows = db.prepare<[string, string], { id: string; content: Buffer }>('select id, content from messages where id in (?, ?)').all(ids[0]!, ids[1]!);
          for (const [id, content] of change(new Map(rows.map((r) => [r.id, r.content])))) db.prepare('update messages set content = ? where id = ?').run(content, id);
          db.close();
        }
        await server.restart();
      };
      const refused = (err: { code: string; message: string }) => err.code === 'internal' && /does not open here/.test(err.message);
      let original = new Map<string, Buffer>();
      await rewrite((content) => {
        original = content;
        return new Map([
          [first!.id, content.get(second!.id)!],
          [second!.id, content.get(first!.id)!],
        ]);
      });
      await assert.rejects(texts(general), refused, 'swapped rows');
      await rewrite(() => {
        const tampered = Buffer.from(original.get(first!.id)!);
        tampered[tampered.length - 20]! ^= 0x01;
        return new Map([
          [first!.id, tampered],
          [second!.id, original.get(second!.id)!],
        ]);
      });
      await assert.rejects(texts(general), refused, 'one flipped bit');
      await rewrite(() => original);
      assert.deepEqual(await texts(general), [ENGLISH, ...KOREAN], 'restored, they open again');
    });

    it('shreds a channel: its content can never be read again, other channels can', async () => {
      const out = await cli('shred', '--channel', secret.id, '--yes');
      assert.match(out.stdout, /destroyed [1-9]\d* data keys/);
      await assert.rejects(cli('shred', '--channel', secret.id), /cannot be undone: add --yes/);
      await server.restart();
      await assert.rejects(texts(secret), (err: { code: string; message: string }) => err.code === 'internal' && /destroyed/.test(err.message));
      assert.deepEqual(await texts(general), [ENGLISH, ...KOREAN]);
    });

    it('channel.delete crypto-shreds the channel: its ciphertext, kept aside, no longer opens', async () => {
      const doomed = await call<ChannelView>('channel.create', { name: 'doomed' });
      const sent = await call<Message>('message.send', { channelId: doomed.id, clientMsgId: 'd1', text: 'bluefin acquisition closes monday' });
      const [row] = await storedMessages(server, [sent.id]);
      assert.ok(row, 'the sealed row is in the store');
      /** Opens the kept ciphertext as a fresh server process would: keys from the store and the key provider, nothing cached. */
      const openKept = async () => {
        const core = await openCore(loadConfig({ ...process.env, ...env, ...server.storeEnv, DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' }));
        try {
          const opened = await openContent(core.keys, { channelId: doomed.id, kind: 'message', recordId: `${sent.id}@${Number(row.created_at)}` }, row.content_format, row.content);
          return (JSON.parse(Buffer.from(opened.content).toString()) as { text: string }).text;
        } finally {
          await core.close();
        }
      };
      assert.equal(await openKept(), 'bluefin acquisition closes monday', 'before the delete the kept ciphertext opens');
      await call('channel.delete', { channelId: doomed.id });
      await assert.rejects(openKept(), /destroyed|no such data key|does not open/i);
      assert.deepEqual(await texts(general), [ENGLISH, ...KOREAN], 'other channels still open');
    });
  });
}

/** Rows of `messages` as stored (sealed), read beside the running server. */
function storedMessages(server: SpawnedServer, ids: string[]): Promise<{ id: string; created_at: number; content_format: string; content: Buffer }[]> {
  const sqlText = `select id, created_at, content_format, content from messages where id in (${ids.map((_, i) => (onPostgres ? `$${i + 1}` : '?')).join(', ')})`;
  if (onPostgres) return queryStore(server, async (db) => (await db.query(sqlText, ids)).rows);
  const db = new Database(join(server.dataDir, 'sotong.sqlite'), { readonly: true });
  try {
    return Promise.resolve(db.prepare(sqlText).all(...ids) as { id: string; created_at: number; content_format: string; content: Buffer }[]);
  } finally {
    db.close();
  }
}

suite('local key file', undefined);
const hsm = initSoftHsmToken('sotong-at-rest');
suite('PKCS#11 on SoftHSM2', 'env' in hsm ? hsm.env : undefined, 'skip' in hsm ? hsm.skip : undefined);

describe('encryption at rest when the key provider goes away', () => {
  let server: SpawnedServer;
  let alice: Person;
  let channel: ChannelView;
  before(async () => {
    server = await spawnServer({ env: { SOTONG_AT_REST: 'true', SOTONG_DATA_KEY_CACHE_TTL_MS: '1000', SOTONG_KMS_OUTAGE_GRACE_MS: '2000' } });
    alice = await person(server, 'Alice');
  });
  after(() => server?.stop());

  it('works from cached keys for the configured grace, then fails closed (no plaintext), then recovers', async () => {
    const a = await alice.connect();
    channel = await a.call<ChannelView>('channel.create', { name: 'ops' });
    const send = (id: string) => a.call<Message>('message.send', { channelId: channel.id, clientMsgId: id, text: `status report ${id}` });
    await send('before');
    const keyFile = join(server.dataDir, 'master.key');
    renameSync(keyFile, `${keyFile}.away`);
    await sleep(1100); // the cached key is stale now, and the provider does not answer
    assert.ok(await send('during-grace'), 'within the grace, the cached key keeps sealing');
    await sleep(2100);
    await assert.rejects(send('after-grace'), (err: { code: string }) => err.code === 'unavailable');
    await assert.rejects(a.call('messages.list', { channelId: channel.id }), (err: { code: string }) => err.code === 'unavailable');
    renameSync(`${keyFile}.away`, keyFile);
    assert.ok(await send('recovered'));
    const list = await a.call<{ messages: Message[] }>('messages.list', { channelId: channel.id });
    assert.deepEqual(list.messages.map((m) => m.text), ['status report before', 'status report during-grace', 'status report recovered'], 'the refused message was not stored at all');
    a.close();
    assert.deepEqual(await holdersOf(server, 'status report'), []);
  });
});
