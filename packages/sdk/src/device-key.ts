/**
 * The device key: an Ed25519 key pair made on the device, whose private half never leaves it.
 * The server knows only the public half; every connection and request is signed with the key.
 */
export interface DeviceKey {
  /** The public key: 32 raw bytes in base64url. */
  readonly publicKey: string;
  /** An Ed25519 signature (64 bytes) over the message. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Where a browser keeps its key pair between visits. */
export interface CryptoKeyPairStore {
  load(): Promise<CryptoKeyPair | undefined>;
  save(pair: CryptoKeyPair): Promise<void>;
}

const ED25519 = { name: 'Ed25519' };

export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * A device key in WebCrypto: the private key is a non-extractable CryptoKey, so not even this
 * page's own scripts can read its bytes, only ask it to sign. Works in browsers and in Node.
 */
export class WebCryptoDeviceKey implements DeviceKey {
  private constructor(
    private readonly pair: CryptoKeyPair,
    readonly publicKey: string,
  ) {}

  /** A new key held in memory only (it is gone when the program ends). */
  static async generate(): Promise<WebCryptoDeviceKey> {
    const pair = (await crypto.subtle.generateKey(ED25519, false, ['sign', 'verify'])) as CryptoKeyPair;
    return WebCryptoDeviceKey.of(pair);
  }

  /** The key kept in `store` (IndexedDB in a browser), made and saved on first use. */
  static async persistent(store: CryptoKeyPairStore = new IndexedDbKeyStore()): Promise<WebCryptoDeviceKey> {
    const saved = await store.load();
    if (saved) return WebCryptoDeviceKey.of(saved);
    const pair = (await crypto.subtle.generateKey(ED25519, false, ['sign', 'verify'])) as CryptoKeyPair;
    await store.save(pair);
    return WebCryptoDeviceKey.of(pair);
  }

  private static async of(pair: CryptoKeyPair): Promise<WebCryptoDeviceKey> {
    const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    return new WebCryptoDeviceKey(pair, toBase64Url(raw));
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.sign(ED25519, this.pair.privateKey, message as Uint8Array<ArrayBuffer>));
  }
}

/**
 * Keeps the CryptoKeyPair in IndexedDB. A CryptoKey survives structured cloning with its
 * non-extractable flag, so the stored private key still cannot be exported.
 */
export class IndexedDbKeyStore implements CryptoKeyPairStore {
  constructor(
    private readonly databaseName = 'sotong-device',
    private readonly entry = 'device-key',
  ) {}

  async load(): Promise<CryptoKeyPair | undefined> {
    return this.run('readonly', (store) => store.get(this.entry)) as Promise<CryptoKeyPair | undefined>;
  }

  async save(pair: CryptoKeyPair): Promise<void> {
    await this.run('readwrite', (store) => store.put(pair, this.entry));
  }

  private async run(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest): Promise<unknown> {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open(this.databaseName, 1);
      open.onupgradeneeded = () => open.result.createObjectStore('keys');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error ?? new Error('cannot open IndexedDB'));
    });
    try {
      return await new Promise((resolve, reject) => {
        const request = work(db.transaction('keys', mode).objectStore('keys'));
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
      });
    } finally {
      db.close();
    }
  }
}
