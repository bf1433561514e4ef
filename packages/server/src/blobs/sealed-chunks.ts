import { createHash } from 'node:crypto';
import { open, seal } from '../keys/aes-gcm.js';
import { KeyRejectedError } from '../keys/provider.js';
import type { ByteRange } from './blob-store.js';

/**
 * The chunked layout every sealed blob shares (docs/encryption.md):
 *
 *   magic (4) ‖ key-id length (1) ‖ key id ‖ blob id (16 random)
 *   ‖ chunks: nonce (12) ‖ AES-256-GCM(64 KiB of plaintext) ‖ tag (16)
 *   ‖ trailer: the same over the plaintext's SHA-256
 *
 * Each version says what the chunks' and the trailer's associated data are (`BlobAad`).
 */
const CHUNK = 64 * 1024;
const OVERHEAD = 12 + 16;
const SEALED_CHUNK = CHUNK + OVERHEAD;
const TRAILER = 32 + OVERHEAD;
/** The longest header: magic, key-id length, key id, blob id. */
export const HEAD = 4 + 1 + 255 + 16;

export interface BlobAad {
  chunk(blobId: Buffer, index: number): Buffer;
  trailer(blobId: Buffer, chunks: number): Buffer;
}

export interface BlobHeader {
  magic: string;
  keyId: string;
  blobId: Buffer;
  /** Where the first chunk starts. */
  start: number;
}

export const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

export function header(magic: string, keyId: string, blobId: Buffer): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  return Buffer.concat([Buffer.from(magic, 'ascii'), Buffer.from([id.length]), id, blobId]);
}

/** The header of a sealed blob, or undefined for bytes that are not one of `magics` (stored in plaintext). */
export function parseHeader(head: Buffer, magics: readonly string[]): BlobHeader | undefined {
  const magic = head.subarray(0, 4).toString('latin1');
  if (head.length < 5 || !magics.includes(magic)) return undefined;
  const keyIdLength = head[4]!;
  const start = 5 + keyIdLength + 16;
  if (head.length < start) throw new KeyRejectedError('a sealed blob is truncated');
  return { magic, keyId: head.subarray(5, 5 + keyIdLength).toString('ascii'), blobId: Buffer.from(head.subarray(5 + keyIdLength, start)), start };
}

/** The plaintext chunks in, the sealed chunks and trailer out (the header is the caller's). */
export async function* sealChunks(key: Buffer, blobId: Buffer, aad: BlobAad, source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let pending = Buffer.alloc(0);
  let index = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
    while (pending.length >= CHUNK) {
      yield seal(key, pending.subarray(0, CHUNK), aad.chunk(blobId, index++));
      pending = pending.subarray(CHUNK);
    }
  }
  if (pending.length > 0) yield seal(key, pending, aad.chunk(blobId, index++));
  yield seal(key, hash.digest(), aad.trailer(blobId, index));
}

/** Stored bytes [position, position + length). */
export type ReadAt = (position: number, length: number) => Promise<Buffer>;

/**
 * Checks the trailer (the blob's length and, through its associated data, its name) before
 * anything is served, then returns the plaintext of `range` chunk by chunk.
 */
export async function openChunks(
  readAt: ReadAt,
  stored: number,
  head: BlobHeader,
  key: Buffer,
  aad: BlobAad,
  trailerMatches: (sha256: Buffer) => boolean,
  range?: ByteRange,
): Promise<AsyncGenerator<Buffer>> {
  const body = stored - head.start - TRAILER;
  if (body < 0) throw new KeyRejectedError('a sealed blob is truncated');
  const chunks = Math.ceil(body / SEALED_CHUNK);
  const size = body - chunks * OVERHEAD;
  const trailer = open(key, await readAt(head.start + body, TRAILER), aad.trailer(head.blobId, chunks));
  if (!trailer || !trailerMatches(trailer)) throw new KeyRejectedError('a sealed blob does not open here: moved, truncated or tampered with');
  const from = range?.start ?? 0;
  const to = Math.min(range?.end ?? size - 1, size - 1);
  return (async function* () {
    for (let i = Math.floor(from / CHUNK); from <= to && i <= Math.floor(to / CHUNK); i++) {
      const plain = open(key, await readAt(head.start + i * SEALED_CHUNK, Math.min(SEALED_CHUNK, body - i * SEALED_CHUNK)), aad.chunk(head.blobId, i));
      if (!plain) throw new KeyRejectedError('a sealed blob does not open here: tampered with');
      const offset = i * CHUNK;
      yield plain.subarray(Math.max(0, from - offset), Math.min(plain.length, to - offset + 1));
    }
  })();
}
