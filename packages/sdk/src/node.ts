/**
 * Node-only parts of the SDK (`@sotong/sdk/node`): a device key from node:crypto, kept in memory
 * or in a file the application chooses. Browsers use `WebCryptoDeviceKey` instead.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import type { DeviceKey } from './device-key.js';

export class NodeDeviceKey implements DeviceKey {
  readonly publicKey: string;

  private constructor(private readonly privateKey: KeyObject) {
    this.publicKey = createPublicKey(privateKey).export({ format: 'jwk' }).x!;
  }

  /** A new key in memory only. */
  static generate(): NodeDeviceKey {
    return new NodeDeviceKey(generateKeyPairSync('ed25519').privateKey);
  }

  /** The key in `path` (PKCS #8 PEM), made there with mode 0600 when the file does not exist yet. */
  static async fromFile(path: string): Promise<NodeDeviceKey> {
    let pem: string;
    try {
      pem = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const key = NodeDeviceKey.generate();
      // `wx`: never overwrite a key another process wrote meanwhile.
      await writeFile(path, key.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
      await chmod(path, 0o600);
      return key;
    }
    return new NodeDeviceKey(createPrivateKey(pem));
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(sign(null, message, this.privateKey));
  }
}
