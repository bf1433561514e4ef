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
 * Bytes addressed by their SHA-256, as a disk or a bucket keeps them (`fs.ts`, `s3.ts`): the same
 * bytes are stored once. Chosen only in `app.ts`; the services see them through `BlobStore`.
 */
export interface RawBlobStore {
  /** Streams `source` in; throws `too_large` (and keeps nothing) past `maxBytes`. */
  put(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): Promise<StoredBlob>;
  /** Streams `bytes` in and stores them under the id `idOf()` gives once they are all in (64 hex digits: a hash of what they stand for). */
  putAs(bytes: AsyncIterable<Uint8Array>, idOf: () => string): Promise<void>;
  get(id: string, range?: ByteRange): Readable;
  exists(id: string): Promise<boolean>;
  delete(id: string): Promise<void>;
  /** The stored size in bytes. */
  size(id: string): Promise<number>;
  close?(): void;
}

/** The channel a blob belongs to: it is sealed under that channel's data key and deduplicated only within it. */
export interface BlobPlace {
  workspaceId: string;
  channelId: string;
}

export interface PlacedBlob {
  /** The blob's name in the raw store (the `sha256` / `preview_sha256` columns of `files`). */
  address: string;
  size: number;
}

/** File blobs and previews as the services use them (`sealed.ts`): written to and read from a channel. */
export interface BlobStore {
  put(place: BlobPlace, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): Promise<PlacedBlob>;
  /**
   * The plaintext, once the blob is known to open here: a destroyed key, another channel's blob or
   * a tampered one is refused before the first byte (`KeyRejectedError`), not mid-stream.
   */
  open(place: BlobPlace, address: string, range?: ByteRange): Promise<Readable>;
  exists(address: string): Promise<boolean>;
  delete(address: string): Promise<void>;
  /** How the blob is stored: `channel` (under its channel's key, as every new blob while encryption at rest is on), `server` (the older server-wide key) or `plain`. */
  sealing(address: string): Promise<'channel' | 'server' | 'plain'>;
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
