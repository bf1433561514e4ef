import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, ChannelView, FileInfo, Message } from '@sotong/protocol';
import { blobNameOf, download, until, upload } from './support/files.js';
import { authHeaders, person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

const TUS = { 'tus-resumable': '1.0.0' };
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const UNSENT_TTL_MS = 1500;

describe('file lifecycle: deletion, channel deletion, expiry', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let admin: string;

  before(async () => {
    server = await spawnServer({
      env: { SOTONG_FILE_SWEEP_MS: '200', SOTONG_UNSENT_FILE_TTL_MS: String(UNSENT_TTL_MS), SOTONG_UPLOAD_TTL_MS: String(UNSENT_TTL_MS) },
    });
    alice = await person(server, 'Alice');
    bob = await person(server, 'Bob');
    carol = await person(server, 'Carol');
    admin = await server.login(server.admin.email, server.admin.password);
  });
  after(() => server?.stop());

  const blobOnDisk = (hash: string) => existsSync(join(server.dataDir, 'blobs', hash.slice(0, 2), hash.slice(2, 4), hash));
  const newChannel = (token: string, name: string, memberIds: string[] = []) =>
    server.request<ChannelView>('POST', '/api/v1/channels', { name, kind: 'private', memberIds }, token);
  const send = (token: string, channelId: string, fileIds: string[], text = '') =>
    server.request<Message>('POST', `/api/v1/channels/${channelId}/messages`, { clientMsgId: randomBytes(6).toString('hex'), text, fileIds }, token);
  const status = async (promise: Promise<unknown>) => promise.then(() => 200, (err: { status: number }) => err.status);

  it('a blob leaves the disk once the message carrying it is deleted', async () => {
    const channel = await newChannel(alice.token, 'msg-delete');
    const bytes = randomBytes(30_000);
    const file = await upload(server, alice.token, channel.id, 'report.bin', bytes);
    const message = await send(alice.token, channel.id, [file.id]);
    const name = await blobNameOf(server, file.id);
    assert.ok(blobOnDisk(name));
    await server.request('DELETE', `/api/v1/messages/${message.id}`, undefined, alice.token);
    await until(() => !blobOnDisk(name), 'the sweeper removed the blob');
    assert.equal((await download(server, alice.token, file.id)).status, 404);
  });

  it('keeps a blob that another live file still shares', async () => {
    const channel = await newChannel(alice.token, 'shared-bytes');
    const bytes = randomBytes(10_000);
    const first = await upload(server, alice.token, channel.id, 'a.bin', bytes);
    const second = await upload(server, alice.token, channel.id, 'b.bin', bytes);
    const gone = await send(alice.token, channel.id, [first.id]);
    await send(alice.token, channel.id, [second.id]);
    await server.request('DELETE', `/api/v1/messages/${gone.id}`, undefined, alice.token);
    await new Promise((resolve) => setTimeout(resolve, 800)); // several sweeps
    assert.ok(blobOnDisk(await blobNameOf(server, second.id)));
    assert.ok(Buffer.from(await (await download(server, alice.token, second.id)).arrayBuffer()).equals(bytes));
  });

  it('channel.delete: owners and admins only; members are told, content and files go, the blob leaves the disk, it is audited', async () => {
    const channel = await newChannel(alice.token, 'doomed', [bob.user.id]);
    const bytes = randomBytes(40_000);
    const file = await upload(server, alice.token, channel.id, '계획.bin', bytes);
    const name = await blobNameOf(server, file.id);
    await send(alice.token, channel.id, [file.id], 'quarterly plan attached');
    const found = await server.request<{ hits: unknown[] }>('GET', '/api/v1/search?query=quarterly', undefined, bob.token);
    assert.equal(found.hits.length, 1);
    const bobSocket = await bob.connect();
    try {
      // A plain member may not; someone outside does not even learn that it exists.
      assert.equal(await status(server.request('DELETE', `/api/v1/channels/${channel.id}`, undefined, bob.token)), 403);
      assert.equal(await status(server.request('DELETE', `/api/v1/channels/${channel.id}`, undefined, carol.token)), 404);

      await server.request('DELETE', `/api/v1/channels/${channel.id}`, undefined, alice.token);
      const deleted = await bobSocket.waitFor((f) => f.t === 'event' && f.e.type === 'channel.deleted' && f.e.channelId === channel.id);
      assert.equal(deleted.t === 'event' && deleted.e.actorId, alice.user.id);
      await bobSocket.waitFor((f) => f.t === 'unsubscribed' && f.channelId === channel.id);
    } finally {
      bobSocket.close();
    }

    for (const token of [alice.token, bob.token]) {
      assert.equal(await status(server.request('GET', `/api/v1/channels/${channel.id}`, undefined, token)), 404);
      assert.equal(await status(server.request('GET', `/api/v1/channels/${channel.id}/messages`, undefined, token)), 404);
      const mine = await server.request<{ channels: ChannelView[] }>('GET', '/api/v1/channels', undefined, token);
      assert.equal(mine.channels.some((c) => c.id === channel.id), false);
      const hits = await server.request<{ hits: unknown[] }>('GET', '/api/v1/search?query=quarterly', undefined, token);
      assert.equal(hits.hits.length, 0);
    }
    assert.equal((await download(server, alice.token, file.id)).status, 404);
    await until(() => !blobOnDisk(name), 'the sweeper removed the blob of the deleted channel');

    const audit = (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=100', undefined, admin)).events;
    const entry = audit.find((e) => e.action === 'channel.deleted' && e.target === channel.id);
    assert.equal(entry?.actorId, alice.user.id);
    // The name is free again.
    await newChannel(alice.token, 'doomed');
  });

  it('a workspace admin may delete a channel they are not in; DMs cannot be deleted', async () => {
    const channel = await newChannel(bob.token, 'admin-cleans');
    await server.request('DELETE', `/api/v1/channels/${channel.id}`, undefined, admin);
    assert.equal(await status(server.request('GET', `/api/v1/channels/${channel.id}`, undefined, bob.token)), 404);

    const dm = await server.request<ChannelView>('POST', '/api/v1/dms', { userIds: [bob.user.id] }, alice.token);
    assert.equal(await status(server.request('DELETE', `/api/v1/channels/${dm.id}`, undefined, alice.token)), 403);
  });

  it('a file never sent expires after SOTONG_UNSENT_FILE_TTL_MS; a sent one stays', async () => {
    const channel = await newChannel(alice.token, 'unsent');
    const unsent = randomBytes(20_000);
    const kept = randomBytes(20_000);
    const unsentFile = await upload(server, alice.token, channel.id, 'draft.bin', unsent);
    const keptFile = await upload(server, alice.token, channel.id, 'sent.bin', kept);
    await send(alice.token, channel.id, [keptFile.id]);
    const [unsentName, keptName] = [await blobNameOf(server, unsentFile.id), await blobNameOf(server, keptFile.id)];
    assert.equal((await download(server, alice.token, `${unsentFile.id}/info`)).status, 200);
    await until(() => !blobOnDisk(unsentName), 'the unsent file expired', UNSENT_TTL_MS + 10_000);
    assert.equal((await download(server, alice.token, `${unsentFile.id}/info`)).status, 404);
    await assert.rejects(send(alice.token, channel.id, [unsentFile.id]), /404 not_found/);
    assert.ok(blobOnDisk(keptName));
    assert.equal(((await (await download(server, alice.token, `${keptFile.id}/info`)).json()) as FileInfo).id, keptFile.id);
  });

  it('an unfinished resumable upload expires after SOTONG_UPLOAD_TTL_MS', async () => {
    const channel = await newChannel(alice.token, 'tus-expiry');
    // Every tus request carries its own device proof for its method and path.
    const headers = (method: string, path: string) => ({ ...TUS, ...authHeaders(alice.token, method, path) });
    const created = await fetch(`${server.httpUrl}/api/v1/uploads`, {
      method: 'POST',
      headers: { ...headers('POST', '/api/v1/uploads'), 'upload-length': '100000', 'upload-metadata': `channelId ${b64(channel.id)},filename ${b64('half.bin')}` },
    });
    assert.equal(created.status, 201);
    assert.ok(created.headers.get('upload-expires'), 'the client is told when it expires');
    const location = created.headers.get('location')!;
    const patched = await fetch(`${server.httpUrl}${location}`, {
      method: 'PATCH',
      headers: { ...headers('PATCH', location), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: randomBytes(40_000),
    });
    assert.equal(patched.status, 204);
    const id = location.split('/').pop()!;
    const uploads = join(server.dataDir, 'uploads');
    assert.ok(readdirSync(uploads).includes(id));
    await until(() => !readdirSync(uploads).some((f) => f.startsWith(id)), 'the partial upload was removed', UNSENT_TTL_MS + 10_000);
    const head = await fetch(`${server.httpUrl}${location}`, { method: 'HEAD', headers: headers('HEAD', location) });
    assert.ok(head.status === 404 || head.status === 410, `HEAD after expiry answers ${head.status}`);
  });
});
