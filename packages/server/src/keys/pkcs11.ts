import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Pkcs11Types from 'pkcs11js';
import { NONCE_BYTES, TAG_BYTES } from './aes-gcm.js';
import { contextBytes, KeyProviderUnavailableError, KeyRejectedError, type KeyContext, type KeyProvider, type WrappedKey } from './provider.js';

const require = createRequire(import.meta.url);

export interface Pkcs11Options {
  /** The PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. */
  library: string;
  tokenLabel: string;
  pin: string;
  /** CMK versions are secret keys labelled `<keyLabel>/1`, `<keyLabel>/2`, …; the highest is current. */
  keyLabel: string;
}

const DATA_KEY_BYTES = 32;

/** One library per process: C_Initialize may run only once, so providers share it. */
const loaded = new Map<string, { module: Pkcs11Types.PKCS11; users: number }>();

/**
 * An HSM through PKCS#11 (tested with SoftHSM2). The CMK is an AES-256 key generated inside the
 * token (C_GenerateKey, sensitive and non-extractable); data keys are random bytes encrypted by it
 * with AES-GCM, the context as associated data — what a KMS's GenerateDataKey does inside.
 * PKCS#11 sessions do one operation at a time, so calls are queued on the session, and the async
 * variants keep the event loop free while the token works.
 */
export class Pkcs11KeyProvider implements KeyProvider {
  readonly name = 'pkcs11';
  private queue: Promise<unknown> = Promise.resolve();
  private readonly handles = new Map<string, Pkcs11Types.Handle>();
  private current = '';
  private closed = false;

  private constructor(
    private readonly p: typeof Pkcs11Types,
    private readonly module: Pkcs11Types.PKCS11,
    private readonly session: Pkcs11Types.Handle,
    private readonly options: Pkcs11Options,
  ) {}

  static async open(options: Pkcs11Options): Promise<Pkcs11KeyProvider> {
    const p = require('pkcs11js') as typeof Pkcs11Types;
    let entry = loaded.get(options.library);
    if (!entry) {
      const module = new p.PKCS11();
      try {
        module.load(options.library);
        module.C_Initialize();
      } catch (err) {
        throw new KeyProviderUnavailableError('pkcs11', `cannot load ${options.library}: ${(err as Error).message}`);
      }
      entry = { module, users: 0 };
      loaded.set(options.library, entry);
    }
    const { module } = entry;
    const slot = module.C_GetSlotList(true).find((s) => module.C_GetTokenInfo(s).label.trim() === options.tokenLabel);
    if (slot === undefined) throw new KeyProviderUnavailableError('pkcs11', `no token labelled ${options.tokenLabel}`);
    const session = module.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
    try {
      module.C_Login(session, p.CKU_USER, options.pin);
    } catch (err) {
      // The login is per token and process: a second provider on the same token is already in.
      if (!/CKR_USER_ALREADY_LOGGED_IN/.test((err as Error).message)) {
        module.C_CloseSession(session);
      // The PIN is never part of the message.
        throw new KeyProviderUnavailableError('pkcs11', `login to token ${options.tokenLabel} refused (${(err as Error).message.split(':')[0]})`);
      }
    }
    entry.users++;
    const provider = new Pkcs11KeyProvider(p, module, session, options);
    provider.findKeys();
    if (provider.handles.size === 0) await provider.rotateMaster();
    return provider;
  }

  async currentCmkId(): Promise<string> {
    return this.current;
  }

  async generateDataKey(context: KeyContext): Promise<WrappedKey & { plaintext: Buffer }> {
    const plaintext = randomBytes(DATA_KEY_BYTES);
    return { plaintext, ...(await this.wrap(plaintext, context)) };
  }

  async decrypt(key: WrappedKey, context: KeyContext): Promise<Buffer> {
    const handle = this.handles.get(key.cmkId);
    if (handle === undefined) throw new KeyRejectedError(`no master key ${key.cmkId} in token ${this.options.tokenLabel}`, 'unknown_key');
    if (key.wrapped.length < NONCE_BYTES + TAG_BYTES) throw new KeyRejectedError(`a data key did not unwrap under ${key.cmkId}`);
    const nonce = key.wrapped.subarray(0, NONCE_BYTES);
    const body = key.wrapped.subarray(NONCE_BYTES);
    try {
      return await this.serial(async () => {
        this.module.C_DecryptInit(this.session, this.gcm(nonce, context), handle);
        return Buffer.from(await this.module.C_DecryptAsync(this.session, body, Buffer.alloc(body.length)));
      });
    } catch (err) {
      if (err instanceof KeyProviderUnavailableError) throw err;
      // SoftHSM answers a failed tag check (and most else) with a bare CKR_ code; a key that does not
      // open is the caller's problem, not an outage.
      if (/CKR_ENCRYPTED_DATA_INVALID|CKR_GENERAL_ERROR|CKR_ENCRYPTED_DATA_LEN_RANGE/.test((err as Error).message)) {
        throw new KeyRejectedError(`a data key did not unwrap under ${key.cmkId}`);
      }
      throw new KeyProviderUnavailableError(this.name, (err as Error).message.split(':')[0] ?? 'error');
    }
  }

  async rewrap(key: WrappedKey, context: KeyContext): Promise<WrappedKey> {
    return this.wrap(await this.decrypt(key, context), context);
  }

  async rotateMaster(): Promise<string> {
    const p = this.p;
    const version = Math.max(0, ...[...this.handles.keys()].map((id) => Number(id.slice(this.options.keyLabel.length + 1)) || 0)) + 1;
    const label = `${this.options.keyLabel}/${version}`;
    const handle = await this.serial(() =>
      this.module.C_GenerateKeyAsync(this.session, { mechanism: p.CKM_AES_KEY_GEN }, [
        { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
        { type: p.CKA_KEY_TYPE, value: p.CKK_AES },
        { type: p.CKA_VALUE_LEN, value: 32 },
        { type: p.CKA_LABEL, value: label },
        { type: p.CKA_TOKEN, value: true },
        { type: p.CKA_PRIVATE, value: true },
        { type: p.CKA_SENSITIVE, value: true },
        { type: p.CKA_EXTRACTABLE, value: false },
        { type: p.CKA_ENCRYPT, value: true },
        { type: p.CKA_DECRYPT, value: true },
      ]),
    );
    this.handles.set(label, handle);
    this.current = label;
    return label;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    const entry = loaded.get(this.options.library);
    // Logging out would log out every session of this process on the token: only the last one does.
    if (entry && entry.users === 1) this.module.C_Logout(this.session);
    this.module.C_CloseSession(this.session);
    if (entry && --entry.users === 0) {
      loaded.delete(this.options.library);
      this.module.C_Finalize();
    }
  }

  /** The CMK versions on the token, by label. */
  private findKeys(): void {
    const p = this.p;
    this.module.C_FindObjectsInit(this.session, [
      { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
      { type: p.CKA_KEY_TYPE, value: p.CKK_AES },
    ]);
    const found = this.module.C_FindObjects(this.session, 1000);
    this.module.C_FindObjectsFinal(this.session);
    const prefix = `${this.options.keyLabel}/`;
    let best = 0;
    for (const handle of found) {
      const label = this.module.C_GetAttributeValue(this.session, handle, [{ type: p.CKA_LABEL }])[0]?.value?.toString('utf8') ?? '';
      const version = label.startsWith(prefix) ? Number(label.slice(prefix.length)) : NaN;
      if (!Number.isInteger(version) || version < 1) continue;
      this.handles.set(label, handle);
      if (version > best) {
        best = version;
        this.current = label;
      }
    }
  }

  private gcm(nonce: Buffer, context: KeyContext): Pkcs11Types.Mechanism {
    const p = this.p;
    return {
      mechanism: p.CKM_AES_GCM,
      parameter: { type: p.CK_PARAMS_AES_GCM_v240, iv: nonce, ivBits: NONCE_BYTES * 8, aad: contextBytes(context), tagBits: TAG_BYTES * 8 } as Pkcs11Types.GcmParams & { ivBits: number },
    };
  }

  private async wrap(plaintext: Buffer, context: KeyContext): Promise<WrappedKey> {
    const cmkId = this.current;
    const handle = this.handles.get(cmkId)!;
    const nonce = randomBytes(NONCE_BYTES);
    try {
      const body = await this.serial(async () => {
        this.module.C_EncryptInit(this.session, this.gcm(nonce, context), handle);
        return Buffer.from(await this.module.C_EncryptAsync(this.session, plaintext, Buffer.alloc(plaintext.length + TAG_BYTES)));
      });
      return { cmkId, wrapped: Buffer.concat([nonce, body]) };
    } catch (err) {
      if (err instanceof KeyProviderUnavailableError) throw err;
      throw new KeyProviderUnavailableError(this.name, (err as Error).message.split(':')[0] ?? 'error');
    }
  }

  /** One operation at a time on the session; a closed provider refuses as an unreachable one would. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw new KeyProviderUnavailableError(this.name, 'closed');
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
