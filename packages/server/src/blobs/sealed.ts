import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { open as openSealed, seal } from '../keys/aes-gcm.js';
import { BLOB_SCOPE, type KeyRing } from '../keys/key-ring.js';
import { KeyRejectedError } from '../keys/provider.js';
import { addressing, type BlobStore, type ByteRange, type RawBlobStore, type StoredBlob } from './blob-store.js';

const MAGIC = Buffer.from('SBL1');
const CHUNK = 64 * 1024;
const OVERHEAD = 12 + 16;
const SEALED_CHUNK = CHUNK + OVERHEAD;
const TRAILER = 32 + OVERHEAD;
/** The longest header: magic, key-id length, key id, blob id. */
const HEAD = 4 + 1 + 255 + 16;

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const chunkAad = (blobId: Buffer, i: number) => Buffer.concat([Buffer.from('sotong blob\0'), blobId, u32(i)]);
const trailerAad = (blobId: Buffer, chunks: number) => Buffer.concat([Buffer.from('sotong blob sha256\0'), blobId, u32(chunks)]);

/**
 * File blobs and previews sealed at rest, over any raw store (the filesystem or S3), under the
 * SHA-256 of the plaintext, so deduplication and references work unchanged:
 *
 *   "SBL1" ‖ key-id length (1) ‖ key id ‖ blob id (16 random)
 *   ‖ chunks: nonce (12) ‖ AES-256-GCM(64 KiB of plaintext) ‖ tag (16), associated data = blob id ‖ index
 *   ‖ trailer: the same over the plaintext's SHA-256, associated data = blob id ‖ chunk count
 *
 * Chunks let a range request decrypt only what it needs; the trailer binds the file to its name and
 * its length, so a blob moved to another name, truncated or reordered does not open. Blobs written
 * while encryption was off (no magic) are read as they are.
 */
export class SealedBlobStore implements BlobStore {
  constructor(
    private readonly raw: RawBlobStore,
    private readonly ring: KeyRing,
    private readonly enabled: boolean,
  ) {}

  async put(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): Promise<StoredBlob> {
    if (!this.enabled) return this.raw.put(source, maxBytes);
    const address = addressing(source, maxBytes);
    await this.raw.putAs(this.sealing(address.bytes), () => address.result().sha256);
    return address.result();
  }

  get(sha256: string, range?: ByteRange): Readable {
    return Readable.from(this.reading(sha256, range));
  }

  exists(sha256: string): Promise<boolean> {
    return this.raw.exists(sha256);
  }

  delete(sha256: string): Promise<void> {
    return this.raw.delete(sha256);
  }

  close(): void {
    this.raw.close?.();
  }

  /** The plaintext chunks in, the sealed blob out (header, chunks, trailer). */
  private async *sealing(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    const key = await this.ring.blobKey();
    const keyId = Buffer.from(key.id, 'ascii');
    const blobId = randomBytes(16);
    yield Buffer.concat([MAGIC, Buffer.from([keyId.length]), keyId, blobId]);
    const hash = createHash('sha256');
    let pending = Buffer.alloc(0);
    let index = 0;
    for await (const chunk of chunks) {
      hash.update(chunk);
      pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
      while (pending.length >= CHUNK) {
        yield seal(key.key, pending.subarray(0, CHUNK), chunkAad(blobId, index++));
        pending = pending.subarray(CHUNK);
      }
    }
    if (pending.length > 0) yield seal(key.key, pending, chunkAad(blobId, index++));
    yield seal(key.key, hash.digest(), trailerAad(blobId, index));
  }

  /** Stored bytes [position, position + length), by a ranged read of the raw store. */
  private async readAt(sha256: string, position: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.raw.get(sha256, { start: position, end: position + length - 1 })) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }

  private async *reading(sha256: string, range?: ByteRange): AsyncGenerator<Buffer> {
    const stored = await this.raw.size(sha256);
    const head = stored > 0 ? await this.readAt(sha256, 0, Math.min(HEAD, stored)) : Buffer.alloc(0);
    if (head.length < 5 || !head.subarray(0, 4).equals(MAGIC)) {
      // Stored while encryption was off.
      yield* this.raw.get(sha256, range);
      return;
    }
    const keyIdLength = head[4]!;
    const keyId = head.subarray(5, 5 + keyIdLength).toString('ascii');
    const blobId = Buffer.from(head.subarray(5 + keyIdLength, 5 + keyIdLength + 16));
    const start = 5 + keyIdLength + 16;
    const key = await this.ring.keyById(keyId);
    if (key.scope !== BLOB_SCOPE) throw new KeyRejectedError('a blob is sealed with a key that is not a blob key');
    const body = stored - start - TRAILER;
    if (body < 0) throw new KeyRejectedError('a sealed blob is truncated');
    const chunks = Math.ceil(body / SEALED_CHUNK);
    const size = body - chunks * OVERHEAD;
    const trailer = openSealed(key.key, await this.readAt(sha256, start + body, TRAILER), trailerAad(blobId, chunks));
    if (!trailer || trailer.toString('hex') !== sha256) throw new KeyRejectedError('a sealed blob does not open here: moved, truncated or tampered with');
    const from = range?.start ?? 0;
    const to = Math.min(range?.end ?? size - 1, size - 1);
    for (let i = Math.floor(from / CHUNK); from <= to && i <= Math.floor(to / CHUNK); i++) {
      const plain = openSealed(key.key, await this.readAt(sha256, start + i * SEALED_CHUNK, Math.min(SEALED_CHUNK, body - i * SEALED_CHUNK)), chunkAad(blobId, i));
      if (!plain) throw new KeyRejectedError('a sealed blob does not open here: tampered with');
      const offset = i * CHUNK;
      yield plain.subarray(Math.max(0, from - offset), Math.min(plain.length, to - offset + 1));
    }
  }
}
