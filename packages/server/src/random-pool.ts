import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 8192;
let pool = Buffer.allocUnsafe(0);
let offset = 0;

/**
 * `n` fresh random bytes (n ≤ 8 KiB) from a CSPRNG-filled pool: one `randomFillSync` per few
 * hundred calls instead of one each, for the per-message callers (ids, AES-GCM nonces). Each
 * call gets bytes no other call gets; the result is a view of the pool, so a caller that keeps
 * it must copy it (Buffer.concat does).
 */
export function randomFromPool(n: number): Buffer {
  if (offset + n > pool.length) {
    // A new buffer, never a refill of the old one: views handed out earlier keep their bytes.
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}
