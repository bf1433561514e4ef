import { SotongError } from '@sotong/protocol';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { addressing, type ByteRange, type RawBlobStore, type StoredBlob } from './blob-store.js';

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Blobs as files under `root/ab/cd/<sha256>`. A blob is written to a temp file in `root/tmp`
 * (same file system, so the final rename is atomic) while it is hashed; readers never see a
 * partial blob, and a second upload of the same bytes just replaces the file with identical bytes.
 */
export class FsBlobStore implements RawBlobStore {
  private readonly tmp: string;

  constructor(private readonly root: string) {
    this.tmp = join(root, 'tmp');
  }

  async put(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): Promise<StoredBlob> {
    const address = addressing(source, maxBytes);
    await this.putAs(address.bytes, () => address.result().sha256);
    return address.result();
  }

  async putAs(bytes: AsyncIterable<Uint8Array>, idOf: () => string): Promise<void> {
    await mkdir(this.tmp, { recursive: true });
    const temp = join(this.tmp, randomBytes(12).toString('hex'));
    try {
      await pipeline(bytes, createWriteStream(temp, { flags: 'wx' }));
      const final = this.pathOf(idOf());
      await mkdir(join(final, '..'), { recursive: true });
      await rename(temp, final);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async size(sha256: string): Promise<number> {
    return (await stat(this.pathOf(sha256))).size;
  }

  get(sha256: string, range?: ByteRange): Readable {
    return createReadStream(this.pathOf(sha256), range ? { start: range.start, end: range.end } : {});
  }

  async exists(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(sha256))).isFile();
    } catch {
      return false;
    }
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  private pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new SotongError('bad_request', 'not a blob id');
    return join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }
}
