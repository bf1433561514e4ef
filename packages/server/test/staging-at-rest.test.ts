import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { ChannelView, FileInfo } from '@sotong/protocol';
import { download, infoWhen, upload } from './support/files.js';
import { authHeaders, person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

const TUS = { 'tus-resumable': '1.0.0' };
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const MARKERS = ['staging-marker-7f3a', '회의록초안'];
const noPdftoppm = (() => {
  try {
    execFileSync('pdftoppm', ['-v'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'pdftoppm not installed (Debian: poppler-utils)';
  }
})();

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Files anywhere in the data folder (database, WAL, blobs, unfinished uploads, keys) holding a marker. */
function holdersIn(dir: string): string[] {
  return filesUnder(dir).filter((path) => {
    const bytes = readFileSync(path);
    return MARKERS.some((m) => bytes.includes(Buffer.from(m)));
  });
}

/** A one-page PDF that writes the markers (the Korean one as a comment: the base-14 fonts have no Hangul). */
function pdfWithText(): Buffer<ArrayBuffer> {
  const content = `BT /F1 18 Tf 10 40 Td (${MARKERS[0]}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = `%PDF-1.4\n%${MARKERS[1]}\n`;
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(pdf));
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(pdf);
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'utf8');
}

/** Records every `sotong-preview-*` entry made in the places a temporary copy could go. */
function watchPreviewCopies(): { made: string[]; close: () => void } {
  const made: string[] = [];
  const watchers: FSWatcher[] = [tmpdir(), '/dev/shm']
    .filter((dir) => existsSync(dir))
    .map((dir) =>
      watch(dir, (_event, name) => {
        if (name?.startsWith('sotong-preview-')) made.push(join(dir, name));
      }),
    );
  return { made, close: () => watchers.forEach((w) => w.close()) };
}

describe('nothing of a file in plaintext on disk before it is a sealed blob', () => {
  let server: SpawnedServer;
  let alice: Person;
  let channel: ChannelView;

  before(async () => {
    server = await spawnServer({ env: { SOTONG_AT_REST: 'true' } });
    alice = await person(server, 'Alice');
    channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'staging', kind: 'private' }, alice.token);
  });
  after(() => server?.stop());

  const auth = (method: string, path: string) => ({ ...TUS, ...authHeaders(alice.token, method, path) });
  const offsetOf = async (location: string) => Number((await fetch(`${server.httpUrl}${location}`, { method: 'HEAD', headers: auth('HEAD', location) })).headers.get('upload-offset'));

  it('keeps an unfinished tus upload encrypted, and resumes it after a restart into the same bytes', async () => {
    const text = Buffer.from(`${MARKERS.join(' ')} — quarterly numbers\n`.repeat(40_000));
    const bytes = Buffer.concat([text, randomBytes(200_001)]); // an odd length: the cut lands mid-block
    const half = 1_000_003;
    const created = await fetch(`${server.httpUrl}/api/v1/uploads`, {
      method: 'POST',
      headers: { ...auth('POST', '/api/v1/uploads'), 'upload-length': String(bytes.length), 'upload-metadata': `channelId ${b64(channel.id)},filename ${b64('minutes.txt')}` },
    });
    assert.equal(created.status, 201, await created.text());
    const location = created.headers.get('location')!;

    const cut = httpRequest(`${server.httpUrl}${location}`, {
      method: 'PATCH',
      headers: { ...auth('PATCH', location), 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', 'content-length': String(bytes.length) },
    });
    cut.on('error', () => {});
    cut.write(bytes.subarray(0, half));
    for (let tries = 0; (await offsetOf(location)) < half && tries < 400; tries++) await new Promise((r) => setTimeout(r, 25));
    cut.destroy();
    await new Promise((r) => setTimeout(r, 200));

    assert.equal(await offsetOf(location), half, 'half of the bytes wait on the server');
    assert.deepEqual(holdersIn(server.dataDir), [], 'no marker anywhere in the data folder');
    const uploads = filesUnder(join(server.dataDir, 'uploads'));
    assert.ok(uploads.some((f) => statSync(f).size === half), 'the staged bytes are there, encrypted');

    await server.restart();
    const offset = await offsetOf(location);
    assert.equal(offset, half);
    const rest = await fetch(`${server.httpUrl}${location}`, {
      method: 'PATCH',
      headers: { ...auth('PATCH', location), 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' },
      body: bytes.subarray(offset),
    });
    const answer = await rest.text();
    assert.equal(rest.status, 200, answer);
    const file = JSON.parse(answer) as FileInfo;
    assert.deepEqual(Buffer.from(await (await download(server, alice.token, file.id)).arrayBuffer()), bytes);
    assert.deepEqual(filesUnder(join(server.dataDir, 'uploads')).filter((f) => !f.endsWith('.json')), [], 'the staged copy and its key are gone');
    assert.deepEqual(holdersIn(server.dataDir), []);
  });

  it('makes image previews without a plaintext copy on disk', async () => {
    const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#3366cc' } })
      .png()
      .withMetadata({ exif: { IFD0: { ImageDescription: MARKERS[0]! } } })
      .toBuffer();
    assert.ok(png.includes(Buffer.from(MARKERS[0]!)), 'the image carries the marker');
    const watcher = watchPreviewCopies();
    try {
      const image = await upload(server, alice.token, channel.id, 'chart.png', png);
      assert.equal((await infoWhen(server, alice.token, image.id, (i) => i.hasPreview)).hasPreview, true);
    } finally {
      watcher.close();
    }
    assert.deepEqual(watcher.made, [], 'no temporary copy');
    assert.deepEqual(holdersIn(server.dataDir), []);
  });

  it('makes PDF previews from a pipe: no plaintext copy on disk', { skip: noPdftoppm }, async () => {
    const pdf = pdfWithText();
    const watcher = watchPreviewCopies();
    try {
      const file = await upload(server, alice.token, channel.id, '회의록.pdf', pdf);
      assert.equal((await infoWhen(server, alice.token, file.id, (i) => i.hasPreview)).hasPreview, true);
      const preview = await sharp(Buffer.from(await (await download(server, alice.token, `${file.id}/preview`)).arrayBuffer())).metadata();
      assert.equal(preview.format, 'webp');
    } finally {
      watcher.close();
    }
    assert.deepEqual(watcher.made, [], 'no temporary copy');
    assert.deepEqual(holdersIn(server.dataDir), []);
  });
});
