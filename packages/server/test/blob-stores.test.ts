import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { RawBlobStore as BlobStore } from '../src/blobs/blob-store.js';
import { FsBlobStore } from '../src/blobs/fs.js';
import { parseS3Url, S3BlobStore } from '../src/blobs/s3.js';
import { startS3, type TestS3 } from './support/s3.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Yields `total` bytes in 64 KiB chunks, so a put is fed as a stream, not one buffer. */
function* chunked(bytes: Buffer, size = 64 * 1024) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** The same promises from every store: what the file service relies on. */
function contract(name: string, open: () => Promise<{ store: BlobStore; objects: () => number; close: () => Promise<void> }>) {
  describe(`blob store contract: ${name}`, () => {
    let store: BlobStore;
    let objects: () => number;
    let close: () => Promise<void>;
    before(async () => ({ store, objects, close } = await open()));
    after(() => close?.());

    it('puts a stream and gets the same bytes back, addressed by their SHA-256', async () => {
      // Larger than one S3 multipart part, so the multipart path runs too.
      const bytes = randomBytes(6 * 1024 * 1024 + 123);
      const stored = await store.put(chunked(bytes), 10 * 1024 * 1024);
      assert.deepEqual(stored, { sha256: sha256(bytes), size: bytes.length });
      assert.ok(await store.exists(stored.sha256));
      assert.ok((await bytesOf(store.get(stored.sha256))).equals(bytes));
    });

    it('reads a byte range (what video seeking asks for)', async () => {
      const bytes = randomBytes(100_000);
      const { sha256: hash } = await store.put(chunked(bytes), 1e6);
      assert.ok((await bytesOf(store.get(hash, { start: 1000, end: 1999 }))).equals(bytes.subarray(1000, 2000)));
      assert.ok((await bytesOf(store.get(hash, { start: 99_990, end: 99_999 }))).equals(bytes.subarray(99_990)));
    });

    it('stores the same bytes once', async () => {
      const bytes = randomBytes(50_000);
      const before = objects();
      const first = await store.put(chunked(bytes), 1e6);
      const second = await store.put(chunked(bytes), 1e6);
      assert.equal(first.sha256, second.sha256);
      assert.equal(objects(), before + 1, 'one stored object for two uploads of the same bytes, no temporary left');
    });

    it('refuses past maxBytes and keeps nothing', async () => {
      const bytes = randomBytes(300_000);
      const before = objects();
      await assert.rejects(store.put(chunked(bytes), 200_000), { code: 'too_large' });
      assert.equal(await store.exists(sha256(bytes)), false);
      assert.equal(objects(), before);
    });

    it('refuses past maxBytes in the middle of a multipart upload too', async () => {
      const bytes = randomBytes(7 * 1024 * 1024);
      const before = objects();
      await assert.rejects(store.put(chunked(bytes), 6 * 1024 * 1024), { code: 'too_large' });
      assert.equal(await store.exists(sha256(bytes)), false);
      assert.equal(objects(), before);
    });

    it('deletes, and a deleted or unknown blob does not exist', async () => {
      const bytes = randomBytes(10_000);
      const { sha256: hash } = await store.put([bytes], 1e6);
      await store.delete(hash);
      assert.equal(await store.exists(hash), false);
      await assert.rejects(bytesOf(store.get(hash)));
      await store.delete(hash); // deleting twice is not an error
      assert.equal(await store.exists(sha256(randomBytes(8))), false);
    });

    it('refuses a key that is not a SHA-256', () => {
      assert.throws(() => store.get('../../etc/passwd'), { code: 'bad_request' });
    });
  });
}

contract('filesystem', async () => {
  const root = mkdtempSync(join(tmpdir(), 'blobs-'));
  const { readdirSync, statSync } = await import('node:fs');
  const count = (dir: string): number =>
    readdirSync(dir).reduce((n, name) => (name === 'tmp' ? n + readdirSync(join(dir, name)).length : statSync(join(dir, name)).isDirectory() ? n + count(join(dir, name)) : n + 1), 0);
  return { store: new FsBlobStore(root), objects: () => count(root), close: async () => undefined };
});

let s3: TestS3 | undefined;
contract('s3 (s3rver)', async () => {
  s3 = await startS3();
  const store = new S3BlobStore(parseS3Url(s3.blobUrl));
  return {
    store,
    objects: () => s3!.objectCount(),
    close: async () => {
      store.close();
      await s3?.stop();
    },
  };
});

describe('BLOB_URL', () => {
  it('names an S3-compatible endpoint with a key, or AWS with the credential chain', () => {
    const custom = parseS3Url('s3://AKIA:se%2Fcret@minio.local:9000/media/sotong?region=eu-central-1&forcePathStyle=true&tls=false');
    assert.equal(custom.bucket, 'media');
    assert.equal(custom.prefix, 'sotong/');
    assert.equal(custom.client.endpoint, 'http://minio.local:9000');
    assert.equal(custom.client.region, 'eu-central-1');
    assert.equal(custom.client.forcePathStyle, true);
    assert.deepEqual(custom.client.credentials, { accessKeyId: 'AKIA', secretAccessKey: 'se/cret' });

    const aws = parseS3Url('s3://company-files?region=ap-northeast-2');
    assert.equal(aws.bucket, 'company-files');
    assert.equal(aws.prefix, '');
    assert.equal(aws.client.endpoint, undefined);
    assert.equal(aws.client.credentials, undefined, 'no key in the URL: the SDK credential chain decides');
  });

  it('without a key in the URL, takes the credentials from the standard AWS chain (here: the environment)', async () => {
    const server = await startS3();
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    const keyless = server.blobUrl.replace('S3RVER:S3RVER@', '');
    assert.equal(parseS3Url(keyless).client.credentials, undefined);
    const store = new S3BlobStore(parseS3Url(keyless));
    try {
      const bytes = randomBytes(1000);
      const { sha256: hash } = await store.put([bytes], 1e6);
      assert.ok((await bytesOf(store.get(hash))).equals(bytes));
    } finally {
      store.close();
      await server.stop();
      for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('does not repeat the URL (or its secret) when it is wrong', () => {
    assert.throws(() => parseS3Url('s3://KEY:topsecret@host:9000/'), (err: Error) => !err.message.includes('topsecret') && /bucket/.test(err.message));
    assert.throws(() => parseS3Url('http://KEY:topsecret@host/b'), (err: Error) => !err.message.includes('topsecret'));
  });
});
