import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { blobNameOf, download, until, upload } from './support/files.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { startS3, type TestS3 } from './support/s3.js';


describe('files in S3-compatible storage (BLOB_URL)', () => {
  let s3: TestS3;
  let server: SpawnedServer;
  let alice: Person;
  let channel: ChannelView;

  before(async () => {
    s3 = await startS3();
    server = await spawnServer({ env: { BLOB_URL: s3.blobUrl, SOTONG_FILE_SWEEP_MS: '200' } });
    alice = await person(server, 'Alice');
    channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 's3-files', kind: 'private' }, alice.token);
  });
  after(async () => {
    await server?.stop();
    await s3?.stop();
  });

  it('uploads into the bucket, downloads whole and by range, and keeps no bytes on local disk', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const file = await upload(server, alice.token, channel.id, '영상.bin', bytes);
    const name = await blobNameOf(server, file.id);
    assert.ok(s3.hasObjectEnding(name), 'the blob is an object in the bucket');
    const stored = s3.objectBytes(name);
    assert.equal(stored.subarray(0, 4).toString(), 'SBL2', "sealed under the channel's key by encryption at rest (on by default)");
    assert.ok(!stored.includes(bytes.subarray(0, 64)) && !stored.includes(bytes.subarray(2_000_000, 2_000_064)), 'the object holds none of the bytes');
    assert.equal(existsSync(join(server.dataDir, 'blobs')), false, 'nothing under DATA_DIR/blobs');

    const whole = await download(server, alice.token, file.id);
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes));

    const part = await download(server, alice.token, file.id, { range: 'bytes=1048576-1048675' });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 1048576-1048675/${bytes.length}`);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1048576, 1048676)));
  });

  it('the sweeper removes the object once the message carrying it is deleted', async () => {
    const bytes = randomBytes(20_000);
    const file = await upload(server, alice.token, channel.id, 'gone.bin', bytes);
    const message = await server.request<Message>('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: randomBytes(6).toString('hex'), text: '', fileIds: [file.id] }, alice.token);
    const name = await blobNameOf(server, file.id);
    assert.ok(s3.hasObjectEnding(name));
    await server.request('DELETE', `/api/v1/messages/${message.id}`, undefined, alice.token);
    await until(() => !s3.hasObjectEnding(name), 'the object is gone from the bucket');
  });

  it('logs the store without its secret', () => {
    assert.match(server.output(), /"blobs":"s3:\/\/S3RVER:\*\*\*@127\.0\.0\.1/);
    assert.equal(server.output().includes('S3RVER@'), false);
  });
});

