import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SotongError } from '@sotong/protocol';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { addressing, type ByteRange, type RawBlobStore, type StoredBlob } from './blob-store.js';

const SHA256 = /^[0-9a-f]{64}$/;
/** 5 MiB is S3's smallest multipart part: memory per upload stays near PART_BYTES × QUEUE. */
const PART_BYTES = 5 * 1024 * 1024;
const QUEUE = 2;

export interface S3Location {
  bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'). */
  prefix: string;
  client: S3ClientConfig;
}

/**
 * `s3://ACCESS:SECRET@host:port/bucket/prefix?region=…&forcePathStyle=true&tls=false` for an
 * S3-compatible server, or `s3://bucket/prefix?region=…` for AWS itself with the SDK's standard
 * credential chain (environment, shared config, instance role). Without a key in the URL the
 * chain is used in both forms. Errors name the URL only with its secret redacted.
 */
export function parseS3Url(raw: string): S3Location {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('BLOB_URL is not a valid URL');
  }
  if (url.protocol !== 's3:') throw new Error('BLOB_URL must start with s3://');
  const params = url.searchParams;
  const path = decodeURIComponent(url.pathname).split('/').filter((p) => p.length > 0);
  // With a custom endpoint the bucket is the first path segment; without one the host is the bucket.
  const custom = url.username !== '' || url.port !== '' || params.has('endpoint') || params.get('forcePathStyle') === 'true' || params.has('tls');
  const bucket = custom ? path.shift() : url.hostname;
  if (!bucket) throw new Error('BLOB_URL names no bucket (s3://host:port/bucket or s3://bucket)');
  const prefix = path.length > 0 ? `${path.join('/')}/` : '';
  const client: S3ClientConfig = {
    region: params.get('region') ?? process.env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: params.get('forcePathStyle') === 'true',
    // Many S3-compatible servers reject the newer default checksum headers; S3 itself does not need them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (custom) client.endpoint = params.get('endpoint') ?? `${params.get('tls') === 'false' ? 'http' : 'https'}://${url.host}`;
  if (url.username !== '') {
    client.credentials = { accessKeyId: decodeURIComponent(url.username), secretAccessKey: decodeURIComponent(url.password) };
  }
  return { bucket, prefix, client };
}

/**
 * Blobs as objects `prefix/ab/cd/<sha256>` in an S3 bucket, through the AWS SDK v3. Bytes stream
 * to a temporary object (multipart, a few parts in memory at most) while they are hashed; once
 * the hash is known the object is copied to its content address and the temporary one removed,
 * so readers never see a partial blob and the same bytes are stored once. Reads stream, with
 * GetObject's Range for byte ranges. CopyObject takes objects up to 5 GiB: larger files need
 * another store.
 */
export class S3BlobStore implements RawBlobStore {
  private readonly client: S3Client;

  constructor(private readonly location: S3Location) {
    this.client = new S3Client(location.client);
  }

  async put(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): Promise<StoredBlob> {
    const address = addressing(source, maxBytes);
    await this.putAs(address.bytes, () => address.result().sha256);
    return address.result();
  }

  async putAs(bytes: AsyncIterable<Uint8Array>, idOf: () => string): Promise<void> {
    const { bucket, prefix } = this.location;
    const temp = `${prefix}tmp/${randomBytes(12).toString('hex')}`;
    const body = Readable.from(bytes);
    let failure: unknown;
    // lib-storage reads the body itself; an error thrown by the generator must end the upload, not vanish.
    body.once('error', (err) => (failure = err));
    try {
      await new Upload({ client: this.client, params: { Bucket: bucket, Key: temp, Body: body }, partSize: PART_BYTES, queueSize: QUEUE }).done();
      if (failure) throw failure;
      const sha256 = idOf();
      if (!(await this.exists(sha256))) {
        await this.client.send(new CopyObjectCommand({ Bucket: bucket, Key: this.keyOf(sha256), CopySource: `${bucket}/${encodeURIComponent(temp).replace(/%2F/g, '/')}` }));
      }
    } catch (err) {
      throw failure ?? err;
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: temp })).catch(() => undefined);
    }
  }

  async size(sha256: string): Promise<number> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.keyOf(sha256) }));
    return Number(head.ContentLength ?? 0);
  }

  get(sha256: string, range?: ByteRange): Readable {
    const key = this.keyOf(sha256);
    const out = new PassThrough();
    this.client
      .send(new GetObjectCommand({ Bucket: this.location.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }))
      .then((res) => {
        const body = res.Body as Readable | undefined;
        if (!body) throw new Error('the object store sent no body');
        body.once('error', (err) => out.destroy(err));
        body.pipe(out);
      })
      .catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
    return out;
  }

  async exists(sha256: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.keyOf(sha256) }));
      return true;
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
      throw err;
    }
  }

  async delete(sha256: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.location.bucket, Key: this.keyOf(sha256) }));
  }

  close(): void {
    this.client.destroy();
  }

  private keyOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new SotongError('bad_request', 'not a blob id');
    return `${this.location.prefix}${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  }
}
