import { createHmac, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SotongError } from '@sotong/protocol';
import { open, seal } from './aes-gcm.js';
import { contextBytes, KeyProviderUnavailableError, KeyRejectedError, type KeyContext, type KeyProvider, type WrappedKey } from './provider.js';

const KEY_BYTES = 32;

/**
 * A CMK version's id carries a fingerprint of the key (`local/2-1f0c9a7e`): two servers with
 * different key files (a cluster given no shared key) then disagree by id, and the refusal names
 * the key that is missing instead of failing as a corrupt wrapping.
 */
function versionId(prefix: string, version: number, key: string): string {
  const fingerprint = createHmac('sha256', Buffer.from(key, 'base64')).update('sotong cmk id').digest('hex').slice(0, 8);
  return `${prefix}/${version}-${fingerprint}`;
}

const versionOf = (id: string) => Number.parseInt(id.split('/')[1] ?? '', 10) || 0;

/** The master key file: every CMK version (base64), and which one is current. Mode 0600. */
interface KeyFile {
  current: string;
  keys: Record<string, string>;
}

export type LocalKeySource = { kind: 'file'; path: string } | { kind: 'env'; value: string };

/**
 * The default provider: the CMK is a random AES-256 key in a file under the data directory
 * (created at first run, mode 0600), or given in the environment. The file is read at every CMK
 * use (CMK uses are rare: data keys are cached), so taking the file away is revoking the key.
 * Never logged: the keys live only in this object's calls.
 */
export class LocalKeyProvider implements KeyProvider {
  readonly name = 'local';
  private closed = false;

  private constructor(private readonly source: LocalKeySource) {}

  /** Creates the key file with a first CMK if there is none yet. */
  static async open(source: LocalKeySource): Promise<LocalKeyProvider> {
    const provider = new LocalKeyProvider(source);
    if (source.kind === 'file') {
      await mkdir(dirname(source.path), { recursive: true });
      const key = randomBytes(KEY_BYTES).toString('base64');
      const id = versionId('local', 1, key);
      const first: KeyFile = { current: id, keys: { [id]: key } };
      try {
        await writeFile(source.path, JSON.stringify(first), { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    await provider.keys();
    return provider;
  }

  /** `SOTONG_MASTER_KEY`: one or more base64 keys, comma-separated; the last is current (`env/1-…`, `env/2-…`, …). */
  private static fromEnv(value: string): KeyFile {
    const parts = value.split(',').map((p) => p.trim());
    const keys: Record<string, string> = {};
    let current = '';
    parts.forEach((p, i) => {
      if (Buffer.from(p, 'base64').length !== KEY_BYTES) throw new SotongError('bad_request', `SOTONG_MASTER_KEY: key ${i + 1} is not ${KEY_BYTES} bytes of base64`);
      current = versionId('env', i + 1, p);
      keys[current] = p;
    });
    return { current, keys };
  }

  private async keys(): Promise<KeyFile> {
    if (this.closed) throw new KeyProviderUnavailableError(this.name, 'closed');
    if (this.source.kind === 'env') return LocalKeyProvider.fromEnv(this.source.value);
    let text: string;
    try {
      text = await readFile(this.source.path, 'utf8');
    } catch (err) {
      throw new KeyProviderUnavailableError(this.name, `cannot read the master key file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    try {
      const file = JSON.parse(text) as KeyFile;
      if (typeof file.current !== 'string' || typeof file.keys?.[file.current] !== 'string') throw new Error('no current key');
      return file;
    } catch {
      throw new KeyProviderUnavailableError(this.name, 'the master key file is not valid');
    }
  }

  private async cmk(id: string): Promise<Buffer> {
    const key = (await this.keys()).keys[id];
    if (!key) throw new KeyRejectedError(`no master key ${id} in the local key store`, 'unknown_key');
    return Buffer.from(key, 'base64');
  }

  async currentCmkId(): Promise<string> {
    return (await this.keys()).current;
  }

  async generateDataKey(context: KeyContext): Promise<WrappedKey & { plaintext: Buffer }> {
    const plaintext = randomBytes(KEY_BYTES);
    return { plaintext, ...(await this.wrap(plaintext, context)) };
  }

  async decrypt(key: WrappedKey, context: KeyContext): Promise<Buffer> {
    const plaintext = open(await this.cmk(key.cmkId), key.wrapped, contextBytes(context));
    if (!plaintext) throw new KeyRejectedError(`a data key did not unwrap under ${key.cmkId}`);
    return plaintext;
  }

  async rewrap(key: WrappedKey, context: KeyContext): Promise<WrappedKey> {
    return this.wrap(await this.decrypt(key, context), context);
  }

  async rotateMaster(): Promise<string> {
    if (this.source.kind === 'env') {
      throw new SotongError('bad_request', 'the master key comes from SOTONG_MASTER_KEY: append a new key there, restart, then run `sotong keys rotate-master --rewrap-only`');
    }
    const file = await this.keys();
    const key = randomBytes(KEY_BYTES).toString('base64');
    const next = versionId('local', Math.max(...Object.keys(file.keys).map(versionOf)) + 1, key);
    const updated: KeyFile = { current: next, keys: { ...file.keys, [next]: key } };
    // Written beside and renamed over, so a crash leaves the old file or the new one, never half.
    const temp = `${this.source.path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(updated), { mode: 0o600, flag: 'wx' });
    await rename(temp, this.source.path);
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async wrap(plaintext: Buffer, context: KeyContext): Promise<WrappedKey> {
    const cmkId = await this.currentCmkId();
    return { cmkId, wrapped: seal(await this.cmk(cmkId), plaintext, contextBytes(context)) };
  }
}
