import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message, SearchHit } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { blobNameOf, download, infoWhen, upload } from './support/files.js';
import { filesUnder, postgresHolders } from './support/plaintext-scan.js';
import sharp from 'sharp';
import { TestClient } from './support/ws-client.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

const ENGLISH = 'Legacy rows about the zephyrine procurement';
const KOREAN = ['예전 회의는 금요일입니다', '회의록을 다시 보내 주세요'];
const EDITED_FROM = 'obsidian lighthouse draft';
const NEEDLES = ['zephyrine', 'procurement', '회의', '회의록을', '금요일', 'obsidian', 'lighthouse'];

/** Where a needle still is: SQLite file and WAL as bytes, or every PostgreSQL table as text. */
async function holdersOf(server: SpawnedServer, needle: string): Promise<string[]> {
  if (server.store === 'postgres') return postgresHolders(server, needle);
  return readdirSync(server.dataDir)
    .filter((f) => f.startsWith('sotong.sqlite'))
    .filter((f) => readFileSync(join(server.dataDir, f)).includes(Buffer.from(needle)));
}

describe('sotong keys seal-existing: rows written while encryption at rest was off', () => {
  let off: SpawnedServer;
  let on: SpawnedServer;
  let alice: Person;
  let general: ChannelView;
  let edited: Message;
  let other: ChannelView;
  const files: { id: string; bytes: Buffer }[] = [];
  const FILE_TEXT = Buffer.from('blueprint-9931 설계도 초안\n'.repeat(4000)); // several 64 KiB chunks
  /** On whichever server runs now: the person was made on the first one. */
  const call = async <T>(command: string, args: object): Promise<T> => {
    const client = on ? await TestClient.connect(on.wsUrl, alice.token) : await alice.connect();
    try {
      return await client.call<T>(command, args);
    } finally {
      client.close();
    }
  };
  const texts = async () => (await call<{ messages: Message[] }>('messages.list', { channelId: general.id })).messages.map((m) => m.text);
  const search = async (query: string) => (await call<{ hits: SearchHit[] }>('search', { query })).hits.map((h) => h.message.text).sort();

  before(async () => {
    off = await spawnServer({ env: { SOTONG_AT_REST: 'false' } });
    alice = await person(off, 'Alice');
    general = await call<ChannelView>('channel.create', { name: 'legacy' });
    await call('message.send', { channelId: general.id, clientMsgId: 'e1', text: ENGLISH });
    for (const [i, text] of KOREAN.entries()) await call('message.send', { channelId: general.id, clientMsgId: `k${i}`, text });
    edited = await call<Message>('message.send', { channelId: general.id, clientMsgId: 'x1', text: EDITED_FROM });
    await call('message.edit', { messageId: edited.id, text: 'nothing to see' });
    assert.deepEqual(await search('회의'), [...KOREAN].sort(), 'indexed in plain tokens while off');
    other = await call<ChannelView>('channel.create', { name: 'legacy-2' });
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#aa3322' } }).png().toBuffer();
    for (const [channelId, name, bytes] of [[general.id, 'plan.txt', FILE_TEXT], [other.id, 'plan.txt', FILE_TEXT], [general.id, 'red.png', png]] as const) {
      files.push({ id: (await upload(off, alice.token, channelId, name, bytes)).id, bytes });
    }
    assert.ok((await infoWhen(off, alice.token, files[2]!.id, (i) => i.hasPreview)).hasPreview);
    assert.equal(await blobNameOf(off, files[0]!.id), await blobNameOf(off, files[1]!.id), 'while off, one plaintext blob for both channels');
    // The same data folder and store, now with encryption at rest on (SIGTERM: `stop` would drop a PostgreSQL schema).
    await off.kill('SIGTERM');
    on = await spawnServer({ dataDir: off.dataDir, env: { ...off.storeEnv, SOTONG_AT_REST: 'true' } });
  });
  after(async () => {
    await on?.stop();
  });

  it('seals content, edit history and the search index online; everything still reads and searches', async () => {
    assert.ok((await holdersOf(on, 'zephyrine')).length > 0, 'before: the scan finds the plaintext');
    assert.deepEqual(await texts(), [ENGLISH, ...KOREAN, 'nothing to see'], 'old rows read while on');

    const env = { ...process.env, ...on.storeEnv, SOTONG_AT_REST: 'true', DATA_DIR: on.dataDir, LOG_LEVEL: 'silent' };
    const sealed = await run(process.execPath, [CLI, 'keys', 'seal-existing'], { env });
    assert.match(sealed.stdout, /sealed 4 messages, 1 edit-history entries and 4 file blobs/, 'two files, the same bytes in another channel, a preview');
    assert.match(sealed.stderr, /sealed 4 messages, 0 edits, 0 blobs/, 'progress on stderr');
    const again = await run(process.execPath, [CLI, 'keys', 'seal-existing'], { env });
    assert.match(again.stdout, /sealed 0 messages, 0 edit-history entries and 0 file blobs/, 'resumable: a second run finds nothing left');

    for (const { id, bytes } of files) assert.deepEqual(Buffer.from(await (await download(on, alice.token, id)).arrayBuffer()), bytes);
    assert.ok((await download(on, alice.token, `${files[2]!.id}/preview`)).ok);
    assert.notEqual(await blobNameOf(on, files[0]!.id), await blobNameOf(on, files[1]!.id), 'now a blob per channel');
    const blobs = filesUnder(join(on.dataDir, 'blobs')).filter((f) => !f.includes(join('blobs', 'tmp')));
    assert.equal(blobs.length, 4, 'the old plaintext blobs are gone');
    for (const path of blobs) {
      const bytes = readFileSync(path);
      assert.equal(bytes.subarray(0, 4).toString(), 'SBL2');
      assert.ok(!bytes.includes(Buffer.from('blueprint-9931')) && !bytes.includes(Buffer.from('설계도')), `${path} holds none of the text`);
    }

    assert.deepEqual(await texts(), [ENGLISH, ...KOREAN, 'nothing to see'], 'the running server reads the sealed rows');
    assert.deepEqual((await call<{ edits: { text: string }[] }>('message.history', { messageId: edited.id })).edits.map((e) => e.text), [EDITED_FROM]);
    assert.deepEqual(await search('회의'), [...KOREAN].sort(), 'search finds them through keyed tokens');
    assert.deepEqual(await search('zephyrine procurement'), [ENGLISH]);

    // SQLite: the WAL keeps old pages until a checkpoint, which a clean stop makes.
    if (on.store === 'sqlite') await on.kill('SIGTERM');
    for (const needle of NEEDLES) assert.deepEqual(await holdersOf(on, needle), [], `"${needle}" is still stored somewhere`);
    if (on.store === 'sqlite') {
      await on.restart();
      assert.deepEqual(await search('회의록'), [KOREAN[1]]);
    }
  });
});
