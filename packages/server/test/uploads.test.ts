import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, FileInfo } from '@sotong/protocol';
import { dispositionName, download } from './support/files.js';
import { authHeaders, person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

const TUS = { 'tus-resumable': '1.0.0' };
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('resumable uploads (tus)', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  let channel: ChannelView;

  before(async () => {
    server = await spawnServer();
    alice = await person(server, 'Alice');
    bob = await person(server, 'Bob');
    channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'tus', kind: 'private' }, alice.token);
  });
  after(() => server?.stop());

  const auth = (token: string, method: string, path: string) => ({ ...TUS, ...authHeaders(token, method, path) });

  async function create(token: string, size: number, name: string): Promise<Response> {
    return fetch(`${server.httpUrl}/api/v1/uploads`, {
      method: 'POST',
      headers: { ...auth(token, 'POST', '/api/v1/uploads'), 'upload-length': String(size), 'upload-metadata': `channelId ${b64(channel.id)},filename ${b64(name)}` },
    });
  }

  const offsetOf = async (location: string, token = alice.token) => {
    const res = await fetch(`${server.httpUrl}${location}`, { method: 'HEAD', headers: auth(token, 'HEAD', location) });
    return { status: res.status, offset: Number(res.headers.get('upload-offset')) };
  };

  it('continues after a cut connection from the offset the server has, and finishes into a file', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const half = bytes.length / 2;
    const name = '발표 자료.bin';
    const created = await create(alice.token, bytes.length, name);
    assert.equal(created.status, 201, await created.text());
    const location = created.headers.get('location')!;
    assert.match(location, /^\/api\/v1\/uploads\/[\w-]+$/);

    // A PATCH that promises every byte, sends half, and then loses its connection.
    const cut = httpRequest(`${server.httpUrl}${location}`, {
      method: 'PATCH',
      headers: { ...auth(alice.token, 'PATCH', location), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(bytes.length) },
    });
    cut.on('error', () => {});
    cut.write(bytes.subarray(0, half));
    // Wait until the server holds those bytes, so the cut is truly in the middle of the upload.
    for (let tries = 0; (await offsetOf(location)).offset < half && tries < 400; tries++) await new Promise((r) => setTimeout(r, 25));
    cut.destroy();

    let offset = -1;
    for (let tries = 0; tries < 400; tries++) {
      const head = await offsetOf(location);
      assert.equal(head.status, 200);
      offset = head.offset;
      const rest = await fetch(`${server.httpUrl}${location}`, {
        method: 'PATCH',
        headers: { ...auth(alice.token, 'PATCH', location), 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
        body: bytes.subarray(offset),
      });
      // 409: the cut request was still being wound up and moved the offset meanwhile; ask again.
      if (rest.status === 409 || rest.status === 423) continue;
      const answer = await rest.text();
      assert.equal(rest.status, 200, answer);
      const file = JSON.parse(answer) as FileInfo;
      assert.equal(file.size, bytes.length);
      assert.equal(file.name, name);
      const got = await download(server, alice.token, file.id);
      assert.equal(dispositionName(got.headers.get('content-disposition')), name);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), bytes);
      break;
    }
    assert.equal(offset, half, 'resumed from the half the server had');
  });

  it('refuses other people: no upload into a channel one is not in, no peeking at or continuing another upload', async () => {
    const refused = await create(bob.token, 10, 'x.bin');
    assert.equal(refused.status, 404);
    assert.equal(((await refused.json()) as { code: string }).code, 'not_found');
    assert.equal((await create('not-a-token', 10, 'x.bin')).status, 401);

    const created = await create(alice.token, 10, 'mine.bin');
    const location = created.headers.get('location')!;
    assert.equal((await offsetOf(location, bob.token)).status, 404);
    const patch = await fetch(`${server.httpUrl}${location}`, {
      method: 'PATCH',
      headers: { ...auth(bob.token, 'PATCH', location), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: Buffer.alloc(10),
    });
    assert.equal(patch.status, 404);
  });
});
