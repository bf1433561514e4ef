import { randomFromPool } from './random-pool.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** A short, roughly time-ordered id: prefix, 10 chars of time, 10 of randomness (Crockford base32). */
export function newId(prefix: string, now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomFromPool(10);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b & 31];
  return `${prefix}_${time}${rand}`;
}
