import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { DeviceProofClaims } from '@sotong/protocol';
import { DeviceProofVerifier, newChallenge } from '../src/auth/device-proof.js';
import { TestDevice } from '../src/testing.js';

const tokenHash = createHash('sha256').update('st_token').digest('base64url');

describe('the transport-neutral device proof check', () => {
  it('accepts a challenge signed by the enrolled key for that transport, and nothing else', () => {
    const verifier = new DeviceProofVerifier({ maxSkewMs: 60_000 });
    const device = TestDevice.generate();
    const nonce = newChallenge();
    // What an MQTT 5 AUTH exchange would check: the nonce the server sent in its AUTH packet.
    const claims: DeviceProofClaims = { kind: 'challenge', transport: 'mqtt', nonce, tokenHash };
    const signature = device.sign(claims);
    assert.deepEqual(verifier.verify(device.publicKey, { claims, signature }), { ok: true });
    assert.deepEqual(verifier.verify(TestDevice.generate().publicKey, { claims, signature }), { ok: false, reason: 'proof_invalid' }, 'another key');
    assert.deepEqual(verifier.verify(device.publicKey, { claims: { ...claims, transport: 'websocket' }, signature }), { ok: false, reason: 'proof_invalid' }, 'another transport');
    assert.deepEqual(verifier.verify(device.publicKey, { claims: { ...claims, nonce: newChallenge() }, signature }), { ok: false, reason: 'proof_invalid' }, 'another nonce');
    assert.deepEqual(verifier.verify(device.publicKey, { claims, signature: signature.slice(0, 40) }), { ok: false, reason: 'proof_invalid' }, 'a cut signature');
  });

  it('takes a request proof once; past the skew, either way, it is expired', () => {
    let now = 1_000_000;
    const verifier = new DeviceProofVerifier({ maxSkewMs: 60_000, now: () => now });
    const device = TestDevice.generate();
    const claims: DeviceProofClaims = { kind: 'request', method: 'GET', path: '/api/v1/me', timestamp: now, nonce: randomBytes(16).toString('base64url'), tokenHash };
    const proof = { claims, signature: device.sign(claims) };
    // The nonce is handed back with how long it must be remembered, for a store shared by several nodes.
    assert.deepEqual(verifier.verify(device.publicKey, proof), { ok: true, once: { key: `${tokenHash} ${claims.nonce}`, until: now + 120_000 } });
    assert.deepEqual(verifier.verify(device.publicKey, proof), { ok: false, reason: 'proof_replayed' });
    now += 60_000;
    assert.deepEqual(verifier.verify(device.publicKey, proof), { ok: false, reason: 'proof_replayed' }, 'still inside the skew');
    now += 1;
    assert.deepEqual(verifier.verify(device.publicKey, proof), { ok: false, reason: 'proof_expired' });
    const early = { ...claims, timestamp: now + 61_000, nonce: randomBytes(16).toString('base64url') };
    assert.deepEqual(verifier.verify(device.publicKey, { claims: early, signature: device.sign(early) }), { ok: false, reason: 'proof_expired' }, 'a clock far ahead');
  });
});
