import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { deviceProofMessage, type DeviceProofClaims, type DeviceRefusal } from '@sotong/protocol';

/**
 * Proof of possession of a device key, for every transport. A transport gathers the claims it
 * can vouch for (the challenge it sent, or the request's method and path) and hands them with
 * the signature to `DeviceProofVerifier.verify`; nothing here knows about HTTP or sockets.
 */

export interface DeviceProof {
  claims: DeviceProofClaims;
  /** base64url Ed25519 signature over `deviceProofMessage(claims)`. */
  signature: string;
}

/**
 * `once`: for proofs that carry their own nonce, the key this node remembered it under and until
 * when, so that a store shared by several nodes can remember it for all of them.
 */
export type ProofOutcome = { ok: true; once?: { key: string; until: number } } | { ok: false; reason: DeviceRefusal };

export interface ProofVerifierOptions {
  /** How far a request's own timestamp may be from the server's clock, either way. */
  maxSkewMs: number;
  now?: () => number;
}

const KEY_CACHE_SIZE = 10_000;

/** A fresh server challenge for a connection to sign (`challenge` claims). */
export function newChallenge(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Checks signatures, clock skew and replays. `challenge` proofs are single-use by construction
 * (the connection's nonce is used once); `request` and `refresh` proofs carry the client's own
 * time and nonce, are accepted within `maxSkewMs`, and each nonce once per token on this node
 * (the caller extends that to the cluster with `once`).
 */
export class DeviceProofVerifier {
  private readonly keys = new Map<string, KeyObject>();
  /** `tokenHash nonce` → when the entry may be forgotten; in arrival order, so pruning reads from the front. */
  private readonly seen = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: ProofVerifierOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * `publicKey`: the enrolled key (base64url, 32 bytes). For `challenge` claims the transport
   * fills in the nonce it issued itself, never one the client names.
   */
  verify(publicKey: string, proof: DeviceProof): ProofOutcome {
    const { claims } = proof;
    if (!verifyDeviceSignature(this.key(publicKey), claims, proof.signature)) return { ok: false, reason: 'proof_invalid' };
    if (claims.kind === 'challenge') return { ok: true };
    const now = this.now();
    if (Math.abs(now - claims.timestamp) > this.options.maxSkewMs) return { ok: false, reason: 'proof_expired' };
    this.prune(now);
    const key = `${claims.tokenHash} ${claims.nonce}`;
    if (this.seen.has(key)) return { ok: false, reason: 'proof_replayed' };
    // Past 2 × skew from now the timestamp check refuses the proof anyway.
    const until = now + 2 * this.options.maxSkewMs;
    this.seen.set(key, until);
    return { ok: true, once: { key, until } };
  }

  private prune(now: number): void {
    for (const [key, until] of this.seen) {
      if (until > now) break;
      this.seen.delete(key);
    }
  }

  private key(publicKey: string): KeyObject {
    let key = this.keys.get(publicKey);
    if (!key) {
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
      if (this.keys.size >= KEY_CACHE_SIZE) this.keys.delete(this.keys.keys().next().value!);
      this.keys.set(publicKey, key);
    }
    return key;
  }
}

/** The signature check alone: Ed25519 over the domain-separated message. */
export function verifyDeviceSignature(publicKey: KeyObject, claims: DeviceProofClaims, signature: string): boolean {
  const bytes = Buffer.from(signature, 'base64url');
  if (bytes.length !== 64) return false;
  return verify(null, Buffer.from(deviceProofMessage(claims), 'utf8'), publicKey, bytes);
}
