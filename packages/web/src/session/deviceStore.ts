import type { KeyValueStorage } from '@sotong/sdk';

const DATABASE = 'sotong-web';
const STORE = 'values';
/** Where the SDK's IndexedDbKeyStore keeps the device key pair (its default database). */
const KEY_DATABASE = 'sotong-device';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB open failed'));
  });
}

async function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = work(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result as T);
      request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
    });
  } finally {
    db.close();
  }
}

/**
 * The device credential (and the SDK's read cursors) in IndexedDB, beside the device key: the
 * credential renews access only together with a signature by the non-extractable key, so the two
 * live and go together. Access tokens never come here; the SDK holds them in memory.
 */
export const deviceStorage: KeyValueStorage & { clear(): Promise<void> } = {
  async getItem(key) {
    return (await run<string | undefined>('readonly', (store) => store.get(key))) ?? null;
  },
  async setItem(key, value) {
    await run('readwrite', (store) => store.put(value, key));
  },
  async clear() {
    await run('readwrite', (store) => store.clear());
  },
};

/** Forgets this browser's device: its stored credential and its key, so the next sign-in enrols a new one. */
export async function forgetDevice(): Promise<void> {
  await deviceStorage.clear();
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(KEY_DATABASE);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}
