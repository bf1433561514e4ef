import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { ChannelView } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { blobNameOf, blobPath, download, upload } from './support/files.js';
import { openCore } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { open as openGcm } from '../src/keys/aes-gcm.js';
import { header, parseHeader, sealChunks, u32 } from '../src/blobs/sealed-chunks.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('file blobs under their channel’s data key', () => {
  let server: SpawnedServer;
  let alice: Person;
  let left: ChannelView;
  let right: ChannelView;
  const env = { SOTONG_AT_REST: 'true' };
  const BYTES = Buffer.from('chunk of the roadmap 로드맵 초안 — channel-bound\n'.repeat(3000)); // > 64 KiB

  const channel = (name: string) => server.request<ChannelView>('POST', '/api/v1/channels', { name, kind: 'private' }, alice.token);
  /** Opens the blob's first chunk, with the documented associated data, under each data key left in the store: the key ids that open it. */
  const keysThatOpen = async (name: string, channelId: string): Promise<string[]> => {
    const sealed = readFileSync(blobPath(server, name));
    const head = parseHeader(sealed, ['SBL2'])!;
    assert.ok(head, 'a version 2 sealed blob');
    const firstChunk = sealed.subarray(head.start, head.start + 64 * 1024 + 28);
    const core = await openCore(loadConfig({ ...process.env, ...env, ...server.storeEnv, DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' }));
    try {
      const opening: string[] = [];
      for (const row of await core.store.read.dataKeys.notUnder('', '', 10_000)) {
        const key = await core.keys.keyById(row.id);
        const aad = Buffer.concat([Buffer.from(`sotong blob v2 chunk\0${key.workspaceId}\0${channelId}\0`), head.blobId, u32(0)]);
        if (openGcm(key.key, firstChunk, aad)) opening.push(row.id);
      }
      return opening;
    } finally {
      await core.close();
    }
  };

  before(async () => {
    server = await spawnServer({ env });
    alice = await person(server, 'Alice');
    left = await channel('left');
    right = await channel('right');
  });
  after(() => server?.stop());

  it('stores the same bytes in two channels as two blobs, and twice in one channel as one', async () => {
    const blobsBefore = 0; // a fresh data folder
    const a = await upload(server, alice.token, left.id, 'roadmap.txt', BYTES);
    const b = await upload(server, alice.token, right.id, 'roadmap.txt', BYTES);
    const again = await upload(server, alice.token, left.id, 'roadmap copy.txt', BYTES);
    const [nameA, nameB, nameAgain] = await Promise.all([a, b, again].map((f) => blobNameOf(server, f.id)));
    assert.notEqual(nameA, nameB, 'a different blob per channel');
    assert.equal(nameA, nameAgain, 'deduplicated within the channel');
    assert.equal(filesUnder(join(server.dataDir, 'blobs')).filter((f) => !f.includes(join('blobs', 'tmp'))).length, blobsBefore + 2);
    const sha256 = createHash('sha256').update(BYTES).digest('hex');
    assert.ok(![nameA, nameB].includes(sha256), 'the name is not the plaintext’s SHA-256 (which would tell whether a known file is stored)');
    for (const f of [a, b, again]) assert.deepEqual(Buffer.from(await (await download(server, alice.token, f.id)).arrayBuffer()), BYTES);
  });

  it('after `sotong keys shred --channel`, the blob left on disk opens under no key, and downloads are refused with a typed error', async () => {
    const kept = await upload(server, alice.token, left.id, 'kept.txt', BYTES);
    const other = await upload(server, alice.token, right.id, 'other.txt', BYTES);
    const name = await blobNameOf(server, kept.id);
    assert.equal((await keysThatOpen(name, left.id)).length, 1, 'before the shred, the channel’s key opens it (the check can see a good key)');

    const shred = await run(process.execPath, [CLI, 'keys', 'shred', '--channel', left.id, '--yes'], {
      env: { ...process.env, ...env, ...server.storeEnv, DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' },
    });
    assert.match(shred.stdout, /destroyed [1-9]\d* data keys/);
    await server.restart();

    assert.ok(statSync(blobPath(server, name)).size > BYTES.length, 'the sealed blob is still on disk');
    assert.deepEqual(await keysThatOpen(name, left.id), [], 'no key left in the store opens it');
    const res = await download(server, alice.token, kept.id);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { code: string; message: string; details?: { reason?: string } };
    assert.equal(body.code, 'internal');
    assert.equal(body.details?.reason, 'key_destroyed');
    assert.match(body.message, /destroyed/);
    const ranged = await download(server, alice.token, kept.id, { range: 'bytes=0-99' });
    assert.equal(ranged.status, 500, 'a range is refused too, before any byte');
    assert.deepEqual(Buffer.from(await (await download(server, alice.token, other.id)).arrayBuffer()), BYTES, 'the same bytes in the other channel still open');
  });

  it('refuses a blob moved to another name, of its own channel or of another', async () => {
    const mine = await upload(server, alice.token, right.id, 'mine.txt', Buffer.from('right-only bytes'));
    const sameChannel = await upload(server, alice.token, right.id, 'theirs.txt', Buffer.from('other bytes, same channel'));
    const otherChannel = await upload(server, alice.token, (await channel('elsewhere')).id, 'far.txt', Buffer.from('bytes of another channel'));
    const path = blobPath(server, await blobNameOf(server, mine.id));
    const original = readFileSync(path);
    for (const intruder of [sameChannel, otherChannel]) {
      copyFileSync(blobPath(server, await blobNameOf(server, intruder.id)), path);
      const res = await download(server, alice.token, mine.id);
      assert.equal(res.status, 500);
      assert.match(((await res.json()) as { message: string }).message, /does not open here/);
    }
    writeFileSync(path, original);
    assert.equal(await (await download(server, alice.token, mine.id)).text(), 'right-only bytes');
  });

  it('still reads a blob sealed under the old server-wide key (SBL1); seal-existing moves it under the channel’s key', async () => {
    const bytes = Buffer.from('older blob, 예전 방식\n'.repeat(5000));
    const legacy = await channel('legacy');
    const file = await upload(server, alice.token, legacy.id, 'old.txt', bytes);
    const current = await blobNameOf(server, file.id);
    const oldName = createHash('sha256').update(bytes).digest('hex');
    // Write what the previous version wrote (docs/encryption.md, SBL1) and point the file at it.
    const core = await openCore(loadConfig({ ...process.env, ...env, ...server.storeEnv, DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' }));
    try {
      const id = `dk_${randomBytes(12).toString('hex')}`;
      const key = await core.keys.provider.generateDataKey({ workspace: '', scope: 'blobs', key: id });
      await core.plainStore.transaction((tx) =>
        tx.dataKeys.insert({ id, workspace_id: '', scope: 'blobs', version: 1, cmk_id: key.cmkId, wrapped: key.wrapped, created_at: Date.now(), expires_at: null, retired_at: null, uses: 0 }),
      );
      const blobId = randomBytes(16);
      const v1 = {
        chunk: (b: Buffer, i: number) => Buffer.concat([Buffer.from('sotong blob\0'), b, u32(i)]),
        trailer: (b: Buffer, n: number) => Buffer.concat([Buffer.from('sotong blob sha256\0'), b, u32(n)]),
      };
      const parts = [header('SBL1', id, blobId)];
      for await (const part of sealChunks(key.plaintext, blobId, v1, (async function* () { yield bytes; })())) parts.push(part);
      mkdirSync(dirname(blobPath(server, oldName)), { recursive: true });
      writeFileSync(blobPath(server, oldName), Buffer.concat(parts));
      assert.ok(await core.plainStore.transaction((tx) => tx.files.moveBlob(file.id, 'sha256', current, oldName)));
    } finally {
      await core.close();
    }
    assert.deepEqual(Buffer.from(await (await download(server, alice.token, file.id)).arrayBuffer()), bytes, 'the SBL1 blob reads');
    const part = await download(server, alice.token, file.id, { range: 'bytes=70000-70099' });
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(70000, 70100));

    const sealed = await run(process.execPath, [CLI, 'keys', 'seal-existing'], { env: { ...process.env, ...env, ...server.storeEnv, DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' } });
    assert.match(sealed.stdout, / and 1 file blobs/);
    const moved = await blobNameOf(server, file.id);
    assert.equal(readFileSync(blobPath(server, moved)).subarray(0, 4).toString(), 'SBL2');
    assert.ok(!existsSync(blobPath(server, oldName)), 'the SBL1 blob is gone');
    assert.deepEqual(Buffer.from(await (await download(server, alice.token, file.id)).arrayBuffer()), bytes);
  });
});
