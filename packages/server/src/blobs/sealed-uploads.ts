import { SotongError } from '@sotong/protocol';
import { FileStore } from '@tus/file-store';
import type { Upload } from '@tus/server';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import type { KeyContext, KeyProvider, WrappedKey } from '../keys/provider.js';

const BLOCK = 16;
/** Plaintext upload keys kept in memory, at most (an upload's key is unwrapped again after a restart or eviction). */
const KEY_CACHE = 256;

/**
 * The AES-256-CTR keystream positioned at `offset`: the counter block of byte `offset` is its
 * block number (the key is random per upload, so a zero starting counter is safe), and a partial
 * block is skipped by encrypting zeros. tus only ever appends at the current length, so no
 * position is written twice with different bytes: the keystream is never reused.
 */
function ctrAt(key: Buffer, offset: number, decrypt: boolean) {
  const iv = Buffer.alloc(BLOCK);
  iv.writeBigUInt64BE(BigInt(Math.floor(offset / BLOCK)), 8);
  const cipher = decrypt ? createDecipheriv('aes-256-ctr', key, iv) : createCipheriv('aes-256-ctr', key, iv);
  if (offset % BLOCK > 0) cipher.update(Buffer.alloc(offset % BLOCK));
  return cipher;
}

const contextOf = (id: string): KeyContext => ({ scope: 'upload', key: id });

/**
 * Unfinished tus uploads, encrypted on disk: each upload gets a random data key from the key
 * provider, kept beside it only wrapped by the CMK (`<id>.key`, mode 0600; not in the tus
 * metadata, which HEAD echoes to the client), and its bytes are written through AES-256-CTR at
 * their offset, so a cut upload resumes — after a restart too — by unwrapping the key again.
 * While encryption at rest is off new uploads are plain, as before; either kind is read back.
 * After `ttlMs` from its creation an unfinished upload expires: `deleteExpired()` (run by the
 * sweeper) removes it with its key, and tus clients see the deadline in `Upload-Expires`.
 */
export class SealedUploadStore extends FileStore {
  private readonly keys = new Map<string, Buffer>();

  constructor(
    private readonly root: string,
    ttlMs: number,
    private readonly provider: KeyProvider,
    private readonly enabled: boolean,
  ) {
    super({ directory: root, expirationPeriodInMilliseconds: ttlMs });
  }

  override async create(upload: Upload): Promise<Upload> {
    if (this.enabled) {
      const { plaintext, cmkId, wrapped } = await this.provider.generateDataKey(contextOf(upload.id));
      await writeFile(this.keyFile(upload.id), JSON.stringify({ cmkId, wrapped: wrapped.toString('base64') }), { mode: 0o600, flag: 'wx' });
      this.remember(upload.id, plaintext);
    }
    return super.create(upload);
  }

  override async write(readable: Readable, id: string, offset: number): Promise<number> {
    const key = await this.keyOf(id);
    if (!key) return super.write(readable, id, offset);
    // The byte count is unchanged by CTR, so FileStore's offset bookkeeping holds.
    return super.write(pipeline(readable, ctrAt(key, offset, false), () => {}), id, offset);
  }

  /** The upload's bytes as they were sent. */
  async plaintext(id: string): Promise<Readable> {
    const key = await this.keyOf(id);
    const stored = createReadStream(this.pathOf(id));
    return key ? pipeline(stored, ctrAt(key, 0, true), () => {}) : stored;
  }

  /** tus's GET of a finished upload: a finished upload is a file by then, served (and checked) under /files. */
  override read(): never {
    throw new SotongError('not_found', 'no such upload');
  }

  override async remove(id: string): Promise<void> {
    try {
      await super.remove(id);
    } finally {
      this.keys.delete(id);
      await rm(this.keyFile(id), { force: true });
    }
  }

  /** Upload ids are `<user id>-<hex>` (`uploads.ts`): anything else, such as a path, is no upload. */
  private pathOf(id: string): string {
    if (!/^[\w-]+$/.test(id)) throw new SotongError('not_found', 'no such upload');
    return join(this.root, id);
  }

  private keyFile(id: string): string {
    return `${this.pathOf(id)}.key`;
  }

  /** The upload's plaintext key, or undefined for an upload stored in plaintext. */
  private async keyOf(id: string): Promise<Buffer | undefined> {
    const cached = this.keys.get(id);
    if (cached) return cached;
    let stored: { cmkId: string; wrapped: string };
    try {
      stored = JSON.parse(await readFile(this.keyFile(id), 'utf8')) as typeof stored;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const wrapped: WrappedKey = { cmkId: stored.cmkId, wrapped: Buffer.from(stored.wrapped, 'base64') };
    return this.remember(id, await this.provider.decrypt(wrapped, contextOf(id)));
  }

  private remember(id: string, key: Buffer): Buffer {
    this.keys.set(id, key);
    if (this.keys.size > KEY_CACHE) this.keys.delete(this.keys.keys().next().value!);
    return key;
  }
}
