import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BLOB_SCOPE, channelScope, type DataKey, type KeyRing } from '../keys/key-ring.js';
import { KeyRejectedError } from '../keys/provider.js';
import { blobAddresser } from './address.js';
import { addressing, type BlobPlace, type BlobStore, type ByteRange, type PlacedBlob, type RawBlobStore } from './blob-store.js';
import { HEAD, header, openChunks, parseHeader, sealChunks, u32, type BlobAad, type BlobHeader } from './sealed-chunks.js';

/** Sealed under the file's channel's data key, named within the channel (`address.ts`). */
const V2 = 'SBL2';
/** Sealed under the server-wide blob key, named by the plaintext's SHA-256: still read, no longer written. */
const V1 = 'SBL1';

/** Version 2 binds each chunk to workspace, channel and blob id, and the trailer also to the blob's name. */
function v2Aad(place: BlobPlace, address: () => string): BlobAad {
  const where = `${place.workspaceId}\0${place.channelId}\0`;
  return {
    chunk: (blobId, i) => Buffer.concat([Buffer.from(`sotong blob v2 chunk\0${where}`), blobId, u32(i)]),
    trailer: (blobId, n) => Buffer.concat([Buffer.from(`sotong blob v2 trailer\0${where}${address()}\0`), blobId, u32(n)]),
  };
}

const v1Aad: BlobAad = {
  chunk: (blobId, i) => Buffer.concat([Buffer.from('sotong blob\0'), blobId, u32(i)]),
  trailer: (blobId, n) => Buffer.concat([Buffer.from('sotong blob sha256\0'), blobId, u32(n)]),
};

/**
 * File blobs and previews sealed at rest, over any raw store (the filesystem or S3): each under
 * the data key of the channel it was uploaded to, so shredding the channel's keys makes its files
 * unreadable too. Layout and what the names leak: docs/encryption.md.
 *
 * Off (`SOTONG_AT_REST=false`) blobs are stored in plaintext under the SHA-256 of their bytes;
 * every format is read whatever the setting: plaintext, `SBL1` and `SBL2`.
 */
export class SealedBlobStore implements BlobStore {
  constructor(
    private readonly raw: RawBlobStore,
    private readonly ring: KeyRing,
    private readonly enabled: boolean,
  ) {}

  async put(place: BlobPlace, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): Promise<PlacedBlob> {
    if (!this.enabled) {
      const { sha256, size } = await this.raw.put(source, maxBytes);
      return { address: sha256, size };
    }
    const key = await this.ring.sealingKey(place.workspaceId, place.channelId);
    const addressOf = await blobAddresser(this.ring, place);
    const address = addressing(source, maxBytes);
    const blobId = randomBytes(16);
    let name: string | undefined;
    const nameOf = () => (name ??= addressOf(address.result().sha256));
    await this.raw.putAs(this.sealed(key, blobId, place, nameOf, address.bytes), nameOf);
    return { address: nameOf(), size: address.result().size };
  }

  async open(place: BlobPlace, address: string, range?: ByteRange): Promise<Readable> {
    const stored = await this.raw.size(address);
    const readAt = (position: number, length: number) => this.readAt(address, position, length);
    const head = await this.headerOf(address, stored);
    // Stored while encryption was off.
    if (!head) return this.raw.get(address, range);
    const key = await this.ring.keyById(head.keyId);
    const chunks = head.magic === V2 ? await this.openV2(place, address, head, key, stored, readAt, range) : await this.openV1(address, head, key, stored, readAt, range);
    return Readable.from(chunks);
  }

  async sealing(address: string): Promise<'channel' | 'server' | 'plain'> {
    const head = await this.headerOf(address, await this.raw.size(address));
    return head?.magic === V2 ? 'channel' : head ? 'server' : 'plain';
  }

  exists(address: string): Promise<boolean> {
    return this.raw.exists(address);
  }

  delete(address: string): Promise<void> {
    return this.raw.delete(address);
  }

  close(): void {
    this.raw.close?.();
  }

  /** The trailer's associated data needs the name, known only once every byte went by: it is sealed last. */
  private async *sealed(key: DataKey, blobId: Buffer, place: BlobPlace, nameOf: () => string, source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    yield header(V2, key.id, blobId);
    yield* sealChunks(key.key, blobId, v2Aad(place, nameOf), source);
  }

  private openV2(place: BlobPlace, address: string, head: BlobHeader, key: DataKey, stored: number, readAt: (p: number, l: number) => Promise<Buffer>, range?: ByteRange) {
    if (key.scope !== channelScope(place.channelId) || key.workspaceId !== place.workspaceId) {
      throw new KeyRejectedError("a blob does not open here: it is sealed with another channel's key");
    }
    return openChunks(readAt, stored, head, key.key, v2Aad(place, () => address), () => true, range);
  }

  private openV1(address: string, head: BlobHeader, key: DataKey, stored: number, readAt: (p: number, l: number) => Promise<Buffer>, range?: ByteRange) {
    if (key.scope !== BLOB_SCOPE) throw new KeyRejectedError('a blob is sealed with a key that is not a blob key');
    return openChunks(readAt, stored, head, key.key, v1Aad, (sha256) => sha256.toString('hex') === address, range);
  }

  /** The sealed blob's header; undefined for a blob stored in plaintext. */
  private async headerOf(address: string, stored: number): Promise<BlobHeader | undefined> {
    return stored > 0 ? parseHeader(await this.readAt(address, 0, Math.min(HEAD, stored)), [V1, V2]) : undefined;
  }

  private async readAt(address: string, position: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const part of this.raw.get(address, { start: position, end: position + length - 1 })) parts.push(part as Buffer);
    return Buffer.concat(parts);
  }
}
