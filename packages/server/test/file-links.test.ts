import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, FileInfo, Message } from '@sotong/protocol';
import sharp from 'sharp';
import { infoWhen, upload } from './support/files.js';
import { authHeaders, person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

const TTL_MS = 1500;

interface Link {
  url: string;
  expiresAt: number;
}

describe('signed download links (for <img> and <video>)', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let channel: ChannelView;
  let image: Buffer<ArrayBuffer>;
  let file: FileInfo;
  let other: FileInfo;

  before(async () => {
    server = await spawnServer({ env: { SOTONG_FILE_LINK_TTL_MS: String(TTL_MS) } });
    alice = await person(server, 'Alice');
    bob = await person(server, 'Bob');
    carol = await person(server, 'Carol');
    channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'links', kind: 'private', memberIds: [bob.user.id] }, alice.token);
    image = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#3366cc' } }).png().toBuffer() as Buffer<ArrayBuffer>;
    file = await upload(server, alice.token, channel.id, '사진.png', image);
    other = await upload(server, alice.token, channel.id, 'other.bin', randomBytes(5000));
    await server.request<Message>('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: 'links-1', text: '', fileIds: [file.id, other.id] }, alice.token);
  });
  after(() => server?.stop());

  const linkOf = (token: string, fileId: string, variant = 'content') =>
    server.request<Link>('GET', `/api/v1/files/${fileId}/link?variant=${variant}`, undefined, token);
  /** What a browser would do with the link: no Authorization header. */
  const load = (path: string, headers: Record<string, string> = {}) => fetch(`${server.httpUrl}${path}`, { headers });
  const codeOf = async (res: Response) => ((await res.json()) as { code: string; message: string });

  it('loads the file without a bearer token, with its type, ranges, and a cache no longer than the link', async () => {
    const link = await linkOf(bob.token, file.id);
    assert.ok(link.expiresAt > Date.now() && link.expiresAt <= Date.now() + TTL_MS);
    const res = await load(link.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.match(res.headers.get('cache-control') ?? '', /^private, max-age=[01]$/);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(image));
    const part = await load(link.url, { range: 'bytes=0-7' });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(image.subarray(0, 8)));
  });

  it('gives a thumbnail link once the preview exists', async () => {
    await infoWhen(server, alice.token, file.id, (info) => info.hasPreview);
    const res = await load((await linkOf(alice.token, file.id, 'preview')).url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/webp');
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    assert.ok(meta.width! <= 320);
  });

  it('is issued only to someone who may read the file, by a device-signed request', async () => {
    await assert.rejects(linkOf(carol.token, file.id), /404 not_found/);
    await assert.rejects(linkOf(carol.token, 'f_nope'), /404 not_found/);
    const res = await fetch(`${server.httpUrl}/api/v1/files/${file.id}/link`);
    assert.equal(res.status, 401);
    // The token alone (copied off a disk, say) does not get a link: the device's proof must come with it.
    const path = `/api/v1/files/${file.id}/link?variant=content`;
    const bare = await fetch(`${server.httpUrl}${path}`, { headers: { authorization: `Bearer ${bob.token}` } });
    assert.equal(bare.status, 401);
    assert.equal(((await bare.json()) as { details: { reason: string } }).details.reason, 'proof_missing');
    // A proof signed for another path does not hold either.
    const elsewhere = authHeaders(bob.token, 'GET', `/api/v1/files/${other.id}/link?variant=content`);
    const misused = await fetch(`${server.httpUrl}${path}`, { headers: elsewhere });
    assert.equal(misused.status, 401);
    assert.equal(((await misused.json()) as { details: { reason: string } }).details.reason, 'proof_invalid');
  });

  it('refuses a link that was changed in any part', async () => {
    const { url } = await linkOf(bob.token, file.id);
    const [path, query] = url.split('?') as [string, string];
    const params = new URLSearchParams(query);
    const variants: Record<string, string> = {};
    variants['another file'] = `${path.replace(file.id, other.id)}?${query}`;
    const withParam = (name: string, value: string | null) => {
      const p = new URLSearchParams(params);
      if (value === null) p.delete(name);
      else p.set(name, value);
      return `${path}?${p}`;
    };
    variants['another user'] = withParam('u', carol.user.id);
    variants['a later expiry'] = withParam('exp', String(Number(params.get('exp')) + 3_600_000));
    variants['the preview instead'] = withParam('v', 'preview');
    const sig = params.get('sig')!;
    variants['a flipped signature'] = withParam('sig', `${sig.slice(0, -2)}${sig.at(-2) === 'A' ? 'B' : 'A'}${sig.at(-1)}`);
    variants['no signature'] = withParam('sig', null);
    for (const [what, changed] of Object.entries(variants)) {
      const res = await load(changed);
      assert.equal(res.status, 403, what);
      assert.equal((await codeOf(res)).code, 'forbidden', what);
    }
    assert.equal((await load(url)).status, 200, 'the untouched link still works');
  });

  it('expires', async () => {
    const { url, expiresAt } = await linkOf(bob.token, other.id);
    assert.equal((await load(url)).status, 200);
    await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 50));
    const res = await load(url);
    assert.equal(res.status, 403);
    assert.match((await codeOf(res)).message, /expired/);
  });

  it('stops working for its user once they may no longer read the file', async () => {
    const dave = await person(server, 'Dave');
    await server.request('POST', `/api/v1/channels/${channel.id}/members`, { userIds: [dave.user.id] }, alice.token);
    const { url } = await linkOf(dave.token, other.id);
    assert.equal((await load(url)).status, 200);
    await server.request('DELETE', `/api/v1/channels/${channel.id}/members/${dave.user.id}`, undefined, alice.token);
    assert.equal((await load(url)).status, 404);
  });

  it('keeps the signature out of the log', async () => {
    const { url } = await linkOf(alice.token, file.id);
    await load(url);
    const sig = new URLSearchParams(url.split('?')[1]).get('sig')!;
    assert.match(server.output(), /\/signed\?[^"]*sig=\[redacted\]/);
    assert.equal(server.output().includes(sig), false);
  });
});
