import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { SotongError } from '@sotong/protocol';

/** Inclusive byte positions, as HTTP ranges count them. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoredBlob {
  sha256: string;
  size: number;
}

/**
 * Bytes addressed by their SHA-256: the same bytes are stored once, whoever uploads them.
 * Implementations sit side by side (`fs.ts`; S3 later) and are chosen only in `app.ts`.
 */
export interface BlobStore {
  /** Streams `source` in; throws `too_large` (and keeps nothing) past `maxBytes`. */
  put(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): Promise<StoredBlob>;
  get(sha256: string, range?: ByteRange): Readable;
  exists(sha256: string): Promise<boolean>;
  delete(sha256: string): Promise<void>;
}

/** What the encryption-at-rest layer (`sealed.ts`) needs of a store underneath it. */
export interface RawBlobStore extends BlobStore {
  /** Streams `bytes` in and stores them under the id `idOf()` gives once they are all in (the caller's hash of what they stand for). */
  putAs(bytes: AsyncIterable<Uint8Array>, idOf: () => string): Promise<void>;
  /** The stored size in bytes. */
  size(sha256: string): Promise<number>;
  close?(): void;
}

/**
 * The content address of bytes as they stream by: `bytes` yields `source` unchanged, refusing
 * (`too_large`) past `maxBytes`; `result()` gives the SHA-256 and size once it is drained.
 */
export function addressing(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): { bytes: AsyncIterable<Uint8Array>; result: () => StoredBlob } {
  const hash = createHash('sha256');
  let size = 0;
  let sha256: string | undefined;
  async function* counted() {
    for await (const chunk of source) {
      size += chunk.byteLength;
      if (size > maxBytes) throw new SotongError('too_large', `a file has at most ${maxBytes} bytes`, { limit: maxBytes });
      hash.update(chunk);
      yield chunk;
    }
  }
  return { bytes: counted(), result: () => ({ sha256: (sha256 ??= hash.digest('hex')), size }) };
}
