import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnServer, type SpawnedServer } from '@sotong/server/testing';
import type { ChannelView, Message } from '@sotong/protocol';
import { FileClient, SotongClient, SotongError, type Credentials } from '../src/index.js';

const PASSWORD = 'a password for the sdk file tests';
const MiB = 1024 * 1024;

describe('SDK files against the real server', () => {
  let server: SpawnedServer;
  let token: string;
  let credentials: Credentials;
  let channel: ChannelView;

  before(async () => {
    server = await spawnServer();
    await server.createUser('files@sotong.test', 'Files', PASSWORD);
    token = await server.login('files@sotong.test', PASSWORD);
    // The SDK's own device session signs the file requests.
    credentials = (await SotongClient.login(server.httpUrl, 'files@sotong.test', PASSWORD)).session!;
    channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'sdk-files' }, token);
  });
  after(() => server?.stop());

  it('uploads a buffer resumably with progress, survives a dropped chunk, and downloads it back', async () => {
    let dropped = 0;
    // The network loses the second chunk once: the client asks for the offset and goes on.
    const flaky: typeof fetch = async (url, init) => {
      if (init?.method === 'PATCH' && init.headers && (init.headers as Record<string, string>)['upload-offset'] === String(MiB) && dropped === 0) {
        dropped++;
        throw new TypeError('fetch failed');
      }
      return fetch(url, init);
    };
    const files = new FileClient({ httpBase: server.httpUrl, credentials, fetch: flaky, chunkBytes: MiB });
    const bytes = randomBytes(3 * MiB + 10);
    const progress: number[] = [];
    const file = await files.uploadFile(channel.id, bytes, '분기 보고서.pdf', { onProgress: (sent) => progress.push(sent) });
    assert.equal(dropped, 1);
    assert.deepEqual(progress, [MiB, 2 * MiB, 3 * MiB, bytes.length]);
    assert.equal(file.name, '분기 보고서.pdf');
    assert.equal(file.size, bytes.length);

    const message = await server.request<Message>('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: 'f1', text: '', fileIds: [file.id] }, token);
    assert.equal(message.files?.[0]?.id, file.id);
    const whole = await files.download(file.id);
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), bytes);
    const part = await files.download(file.id, { range: { start: 5, end: 9 } });
    assert.equal(part.status, 206);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(5, 10));
    assert.equal(files.downloadUrl(file.id, { preview: true }), `${server.httpUrl}/api/v1/files/${file.id}/preview`);
  });

  it('streams a stream of unknown length in one request', async () => {
    const files = new FileClient({ httpBase: server.httpUrl, credentials });
    const pieces = [randomBytes(1000), randomBytes(2000)];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces) controller.enqueue(new Uint8Array(piece));
        controller.close();
      },
    });
    let sent = 0;
    const file = await files.uploadFile(channel.id, stream, 'stream.bin', { onProgress: (n) => (sent = n) });
    assert.equal(file.size, 3000);
    assert.equal(sent, 3000);
  });

  it('reports refusals as typed errors', async () => {
    const files = new FileClient({ httpBase: server.httpUrl, credentials });
    await assert.rejects(files.uploadFile('c_nope', new Uint8Array(10), 'x.bin'), (err: unknown) => err instanceof SotongError && err.code === 'not_found');
    await assert.rejects(files.download('f_nope'), (err: unknown) => err instanceof SotongError && err.code === 'not_found');
  });

  it('gives a signed URL that an <img>/<video> can load without a token, and streams ranges from it', async () => {
    const files = new FileClient({ httpBase: server.httpUrl, credentials });
    const bytes = randomBytes(200_000);
    const file = await files.uploadFile(channel.id, bytes, 'clip.bin');
    const { url, expiresAt } = await files.signedUrl(file.id);
    assert.ok(url.startsWith(`${server.httpUrl}/api/v1/files/${file.id}/signed?`));
    assert.ok(expiresAt > Date.now());
    const whole = await fetch(url);
    assert.equal(whole.status, 200);
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(bytes));
    const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200)));
    await assert.rejects(files.signedUrl(file.id, { preview: true }), (err: unknown) => err instanceof SotongError && err.code === 'not_found');
  });
});
