import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NONCE_BYTES, open, seal } from '../src/keys/aes-gcm.js';
import { randomFromPool } from '../src/random-pool.js';

describe('random pool (ids and AES-GCM nonces)', () => {
  it('never hands out the same bytes twice, across refills', () => {
    const seen = new Set<string>();
    // 12-byte nonces: 5,000 of them span seven refills of the 8 KiB pool.
    for (let i = 0; i < 5000; i++) seen.add(randomFromPool(NONCE_BYTES).toString('hex'));
    assert.equal(seen.size, 5000);
  });

  it('leaves bytes handed out before a refill as they were', () => {
    const kept = randomFromPool(16);
    const copy = Buffer.from(kept);
    for (let i = 0; i < 2000; i++) randomFromPool(16);
    assert.deepEqual(kept, copy);
  });

  it('gives every sealed message its own nonce, and each still opens', () => {
    const key = Buffer.alloc(32, 7);
    const aad = Buffer.from('channel');
    const sealed = Array.from({ length: 2000 }, (_, i) => seal(key, Buffer.from(`메시지 ${i}`), aad));
    assert.equal(new Set(sealed.map((s) => s.subarray(0, NONCE_BYTES).toString('hex'))).size, sealed.length);
    sealed.forEach((s, i) => assert.equal(open(key, s, aad)?.toString(), `메시지 ${i}`));
  });
});
