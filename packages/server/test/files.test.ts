import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, FileInfo, Message, SearchHit } from '@sotong/protocol';
import sharp from 'sharp';
import { blobNameOf, blobPath, dispositionName, download, infoWhen, onePagePdf, upload, uploadRaw } from './support/files.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

/** The start of a Windows executable: what file-type recognises, whatever the name says. */
const EXE = Buffer.concat([Buffer.from('MZ'), randomBytes(2000)]);

/** Why a test that needs a system tool cannot run here (printed as the skip reason), or false. */
const missing = (tool: string, flag: string, apt: string) =>
  spawnSync(tool, [flag]).error ? `${tool} is not installed (Debian package ${apt}); the server makes no such previews without it` : false;
const noPdftoppm = missing('pdftoppm', '-v', 'poppler-utils');
const noFfmpeg = missing('ffmpeg', '-version', 'ffmpeg') || missing('ffprobe', '-version', 'ffmpeg');

describe('files', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  let admin: string;
  let channel: ChannelView;

  before(async () => {
    server = await spawnServer({ env: { SOTONG_FILE_BLOCKED_TYPES: 'application/x-msdownload, application/x-sh' } });
    alice = await person(server, 'Alice');
    bob = await person(server, 'Bob');
    admin = await server.login(server.admin.email, server.admin.password);
    channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'files', kind: 'private' }, alice.token);
  });
  after(() => server?.stop());

  const send = (token: string, fileIds: string[], text = '') =>
    server.request<Message>('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: randomBytes(6).toString('hex'), text, fileIds }, token);

  it('a Korean file name round-trips through upload, message and download', async () => {
    const name = '회의록 최종(2분기).txt';
    const bytes = Buffer.from('안건: 파일 공유\n', 'utf8');
    // Sent decomposed (as macOS types it), stored composed.
    const file = await upload(server, alice.token, channel.id, name.normalize('NFD'), bytes);
    assert.equal(file.name, name);
    assert.equal(file.size, bytes.length);
    assert.equal(file.mime, 'application/octet-stream', 'plain text has no magic bytes; the name .txt is not trusted');

    const message = await send(alice.token, [file.id], '첨부합니다 quarterly');
    assert.deepEqual(message.files?.map((f) => f.name), [name]);
    const listed = await server.request<{ messages: Message[] }>('GET', `/api/v1/channels/${channel.id}/messages`, undefined, alice.token);
    assert.deepEqual(listed.messages.at(-1)?.files?.map((f) => f.id), [file.id]);

    const res = await download(server, alice.token, file.id);
    assert.equal(res.status, 200);
    assert.equal(dispositionName(res.headers.get('content-disposition')), name);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment;/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);

    const found = await server.request<{ hits: SearchHit[] }>('GET', `/api/v1/search?query=${encodeURIComponent('quarterly has:file')}`, undefined, alice.token);
    assert.deepEqual(found.hits.map((h) => h.message.id), [message.id]);
  });

  it('detects the type from the bytes: an .exe named .png is refused by the blocked-types setting', async () => {
    const res = await uploadRaw(server, alice.token, channel.id, 'cat.png', EXE);
    assert.equal(res.status, 403);
    const body = (await res.json()) as { code: string; details: { mime: string } };
    assert.equal(body.code, 'forbidden');
    assert.equal(body.details.mime, 'application/x-msdownload');
  });

  it('serves passive images inline and everything else, SVG and HTML included, as an attachment', async () => {
    const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#3366ff' } }).png().toBuffer();
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>');
    const image = await upload(server, alice.token, channel.id, 'photo.svg', png);
    const active = await upload(server, alice.token, channel.id, 'photo.png', svg);
    assert.equal(image.mime, 'image/png');
    const inline = await download(server, alice.token, image.id);
    assert.equal(inline.headers.get('content-type'), 'image/png');
    assert.match(inline.headers.get('content-disposition') ?? '', /^inline;/);
    const attached = await download(server, alice.token, active.id);
    assert.notEqual(attached.headers.get('content-type'), 'image/svg+xml');
    assert.match(attached.headers.get('content-disposition') ?? '', /^attachment;/);
    assert.equal(attached.headers.get('x-content-type-options'), 'nosniff');
  });

  it('answers byte ranges with 206 and unsatisfiable ones with 416', async () => {
    const bytes = randomBytes(1000);
    const file = await upload(server, alice.token, channel.id, 'video.bin', bytes);
    const whole = await download(server, alice.token, file.id);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('accept-ranges'), 'bytes');
    assert.equal(whole.headers.get('content-length'), '1000');
    await whole.arrayBuffer();

    const cases: [string, number, number][] = [
      ['bytes=10-19', 10, 19],
      ['bytes=990-', 990, 999],
      ['bytes=-5', 995, 999],
      ['bytes=900-5000', 900, 999],
    ];
    for (const [range, start, end] of cases) {
      const res = await download(server, alice.token, file.id, { range });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers.get('content-range'), `bytes ${start}-${end}/1000`, range);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes.subarray(start, end + 1), range);
    }
    for (const range of ['bytes=1000-', 'bytes=20-10', 'bytes=-0', 'bytes=abc']) {
      const res = await download(server, alice.token, file.id, { range });
      assert.equal(res.status, 416, range);
      assert.equal(res.headers.get('content-range'), 'bytes */1000', range);
    }
  });

  it('refuses people outside the channel, and shows a file to members only once it is sent', async () => {
    const refused = await uploadRaw(server, bob.token, channel.id, 'intruder.txt', Buffer.from('hi'));
    assert.equal(refused.status, 404, 'a private channel one cannot read does not exist');
    const file = await upload(server, alice.token, channel.id, 'secret.txt', Buffer.from('top secret'));
    assert.equal((await download(server, bob.token, file.id)).status, 404);
    await server.request('POST', `/api/v1/channels/${channel.id}/members`, { userIds: [bob.user.id] }, alice.token);
    assert.equal((await download(server, bob.token, file.id)).status, 404, 'not sent yet: only the uploader sees it');
    await assert.rejects(send(bob.token, [file.id]), /404 not_found/, "nobody sends someone else's upload");
    await send(alice.token, [file.id], 'here');
    const res = await download(server, bob.token, file.id);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'top secret');
    await server.request('DELETE', `/api/v1/channels/${channel.id}/members/${bob.user.id}`, undefined, alice.token);
    assert.equal((await download(server, bob.token, file.id)).status, 404, 'gone with the membership');
    assert.equal((await fetch(`${server.httpUrl}/api/v1/files/${file.id}`)).status, 401);
  });

  it('stores the same bytes once; deleting the message releases the file and the sweeper removes the unreferenced blob', async () => {
    const bytes = randomBytes(5000);
    const first = await upload(server, alice.token, channel.id, 'a.bin', bytes);
    const second = await upload(server, alice.token, channel.id, 'b.bin', bytes);
    const hash = await blobNameOf(server, first.id);
    assert.equal(await blobNameOf(server, second.id), hash, 'one blob for both');
    assert.ok(existsSync(blobPath(server, hash)));
    const one = await send(alice.token, [first.id]);
    const two = await send(alice.token, [second.id]);

    await server.request('DELETE', `/api/v1/messages/${one.id}`, undefined, alice.token);
    assert.equal((await download(server, alice.token, first.id)).status, 404);
    await server.request('POST', '/api/v1/admin/files/collect', undefined, admin);
    assert.ok(existsSync(blobPath(server, hash)), 'the other file still holds the bytes');
    assert.equal((await download(server, alice.token, second.id)).status, 200);

    await server.request('DELETE', `/api/v1/messages/${two.id}`, undefined, alice.token);
    const swept = await server.request<{ files: number; blobs: number }>('POST', '/api/v1/admin/files/collect', undefined, admin);
    assert.ok(swept.blobs >= 1);
    assert.ok(!existsSync(blobPath(server, hash)), 'no file refers to the bytes any more');
    await assert.rejects(server.request('POST', '/api/v1/admin/files/collect', undefined, alice.token), /403 forbidden/);
  });

  it('makes an image preview with its dimensions in the background', async () => {
    const png = await sharp({ create: { width: 1200, height: 800, channels: 3, background: '#ff8800' } }).png().toBuffer();
    const file = await upload(server, alice.token, channel.id, '사진.png', png);
    const info = await infoWhen(server, alice.token, file.id, (i) => i.hasPreview);
    assert.equal(info.hasPreview, true, `no preview was made:\n${server.output().slice(-2000)}`);
    assert.deepEqual([info.width, info.height], [1200, 800]);
    const preview = await download(server, alice.token, `${file.id}/preview`);
    assert.equal(preview.headers.get('content-type'), 'image/webp');
    const meta = await sharp(Buffer.from(await preview.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [320, 213]);
  });

  it('previews the first page of a PDF with pdftoppm', { skip: noPdftoppm }, async () => {
    const file = await upload(server, alice.token, channel.id, '계약서.pdf', onePagePdf());
    assert.equal(file.mime, 'application/pdf');
    const info = await infoWhen(server, alice.token, file.id, (i) => i.hasPreview);
    assert.equal(info.hasPreview, true, `no preview was made:\n${server.output().slice(-2000)}`);
    const preview = await download(server, alice.token, `${file.id}/preview`);
    const meta = await sharp(Buffer.from(await preview.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [320, 160], 'the 2:1 page, fitted into the preview box');
  });

  it('records duration and a poster frame of a video, and the duration of audio, with ffmpeg', { skip: noFfmpeg }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sotong-media-'));
    const make = (args: string[], out: string) => {
      const result = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args, join(dir, out)]);
      assert.equal(result.status, 0, result.stderr.toString());
      return readFileSync(join(dir, out));
    };
    const video = make(['-f', 'lavfi', '-i', 'testsrc=duration=2:size=640x360:rate=10', '-pix_fmt', 'yuv420p'], 'clip.mp4');
    const audio = make(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1.5'], 'tone.wav');

    const clip = await upload(server, alice.token, channel.id, '영상.mp4', video);
    assert.equal(clip.mime, 'video/mp4');
    const clipInfo = await infoWhen(server, alice.token, clip.id, (i) => i.hasPreview);
    assert.deepEqual([clipInfo.width, clipInfo.height, clipInfo.durationMs], [640, 360, 2000]);
    const poster = await sharp(Buffer.from(await (await download(server, alice.token, `${clip.id}/preview`)).arrayBuffer())).metadata();
    assert.deepEqual([poster.width, poster.height], [320, 180]);

    const tone = await upload(server, alice.token, channel.id, 'tone.wav', audio);
    assert.match(tone.mime, /^audio\//);
    const toneInfo = await infoWhen(server, alice.token, tone.id, (i) => i.durationMs !== undefined);
    assert.equal(toneInfo.durationMs, 1500);
    assert.equal(toneInfo.hasPreview, false, 'sound has no picture');
  });
});

describe('file limits and quotas', () => {
  let server: SpawnedServer;
  const MiB = 1024 * 1024;

  before(async () => {
    server = await spawnServer({
      env: { SOTONG_MAX_FILE_BYTES: String(3 * MiB), SOTONG_FILE_QUOTA_USER_BYTES: String(4 * MiB), SOTONG_FILE_QUOTA_WORKSPACE_BYTES: String(6 * MiB) },
    });
  });
  after(() => server?.stop());

  it('refuses a file over the size limit, then uploads past the user and workspace quotas, with typed errors', async () => {
    const alice = await person(server, 'Alice');
    const bob = await person(server, 'Bob');
    const channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'quota', memberIds: [bob.user.id] }, alice.token);

    const big = await uploadRaw(server, alice.token, channel.id, 'big.bin', randomBytes(3 * MiB + 1));
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { code: string }).code, 'too_large');

    await upload(server, alice.token, channel.id, 'one.bin', randomBytes(3 * MiB));
    const overUser = await uploadRaw(server, alice.token, channel.id, 'two.bin', randomBytes(2 * MiB));
    assert.equal(overUser.status, 413);
    assert.deepEqual(await overUser.json(), {
      code: 'quota_exceeded',
      message: 'your file storage quota is used up',
      details: { scope: 'user', limit: 4 * MiB },
    });
    await upload(server, alice.token, channel.id, 'three.bin', randomBytes(MiB));

    await upload(server, bob.token, channel.id, 'four.bin', randomBytes(2 * MiB));
    const overWorkspace = await uploadRaw(server, bob.token, channel.id, 'five.bin', randomBytes(1024));
    const body = (await overWorkspace.json()) as { code: string; details: { scope: string } };
    assert.equal(body.code, 'quota_exceeded');
    assert.equal(body.details.scope, 'workspace');
  });
});
