import { createCipheriv, createDecipheriv } from 'node:crypto';
import { randomFromPool } from '../random-pool.js';

/** AES-256-GCM with a random 96-bit nonce; the output is nonce ‖ ciphertext ‖ 128-bit tag. */
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

export function seal(key: Buffer, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  return sealAfter(EMPTY, key, [plaintext], aad);
}

const EMPTY = Buffer.alloc(0);

/**
 * `header ‖ seal(key, concat(plaintextParts), aad)` in one buffer: the header is stored in the
 * clear (and should be in `aad` if it matters), the parts are encrypted without being joined first.
 */
export function sealAfter(header: Uint8Array, key: Buffer, plaintextParts: readonly Uint8Array[], aad: Uint8Array): Buffer {
  const nonce = randomFromPool(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const pieces: Uint8Array[] = [header, nonce];
  for (const part of plaintextParts) pieces.push(cipher.update(part));
  cipher.final();
  pieces.push(cipher.getAuthTag());
  return Buffer.concat(pieces);
}

/** The plaintext, or undefined if the bytes, the key or the associated data are not the ones sealed. */
export function open(key: Buffer, sealed: Uint8Array, aad: Uint8Array): Buffer | undefined {
  if (sealed.byteLength < NONCE_BYTES + TAG_BYTES) return undefined;
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return undefined;
  }
}
