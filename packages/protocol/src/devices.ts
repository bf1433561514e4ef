import { z } from 'zod';
import { Id } from './model.js';

/**
 * Device keys and proofs of possession. A device holds an Ed25519 key pair; its public key is
 * enrolled at sign-in and every access token is bound to the device. Each connection and each
 * REST request carries a signature by the device key (see docs/identity.md, "Devices").
 */

/** An Ed25519 public key: its 32 raw bytes in base64url. */
export const DevicePublicKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'an Ed25519 public key, 32 bytes in base64url');
/** An Ed25519 signature: 64 raw bytes in base64url. */
export const DeviceSignature = z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'an Ed25519 signature, 64 bytes in base64url');

/** What a client says about itself when it signs in. */
export const DeviceEnrolment = z.object({
  name: z.string().min(1).max(120),
  platform: z.string().min(1).max(60),
  publicKey: DevicePublicKey,
});
export type DeviceEnrolment = z.infer<typeof DeviceEnrolment>;

export const DeviceStatus = z.enum(['pending', 'active', 'revoked']);
export type DeviceStatus = z.infer<typeof DeviceStatus>;

export const Device = z.object({
  id: Id,
  userId: Id,
  name: z.string(),
  platform: z.string(),
  publicKey: DevicePublicKey,
  status: DeviceStatus,
  firstSeenAt: z.number(),
  lastSeenAt: z.number(),
  /** The device the caller is using. */
  current: z.boolean(),
});
export type Device = z.infer<typeof Device>;

/**
 * The long-lived part of a device's sign-in: with it and a signature by the device key, the
 * device renews its access token (`POST /api/v1/auth/refresh`) without signing in again.
 */
export const DeviceCredential = z.object({
  deviceId: Id,
  credential: z.string(),
  /** When the credential lapses if it is not used before (each renewal moves it on). */
  expiresAt: z.number(),
});
export type DeviceCredential = z.infer<typeof DeviceCredential>;

/**
 * Sign-in succeeded on a device that the workspace requires to be approved (by another active
 * device of the same user, or an admin). Renewing with the credential answers
 * `unauthenticated {reason: 'device_pending'}` until then, and a session once approved.
 */
export const DevicePending = z.object({ devicePending: z.literal(true), device: DeviceCredential });
export type DevicePending = z.infer<typeof DevicePending>;

/** Why a device-bound sign-in, connection or request was refused: `details.reason` of an `unauthenticated` error. */
export const DeviceRefusal = z.enum([
  'device_required',
  'proof_missing',
  'proof_invalid',
  'proof_expired',
  'proof_replayed',
  'device_pending',
  'device_revoked',
  'device_unknown',
  'credential_invalid',
]);
export type DeviceRefusal = z.infer<typeof DeviceRefusal>;

/** The domain tag that starts every signed message, so a device signature means nothing elsewhere. */
export const DEVICE_PROOF_TAG = 'sotong-device-proof/v1';

/**
 * What a device signs. `challenge`: a connection (WebSocket, MQTT AUTH, TCP) answers a nonce the
 * server sent. `request`: an HTTP request (REST, long-poll) signs its method, path and its own
 * time and nonce. `refresh`: renewing an access token, over the credential instead of a token.
 * `tokenHash` is base64url SHA-256 of the access token (of the device credential for `refresh`).
 */
export type DeviceProofClaims =
  | { kind: 'challenge'; transport: string; nonce: string; tokenHash: string }
  | { kind: 'request'; method: string; path: string; timestamp: number; nonce: string; tokenHash: string }
  | { kind: 'refresh'; deviceId: string; timestamp: number; nonce: string; tokenHash: string };

/** The exact bytes a device signs: the tag, then the claims, one per line (UTF-8). */
export function deviceProofMessage(claims: DeviceProofClaims): string {
  switch (claims.kind) {
    case 'challenge':
      return [DEVICE_PROOF_TAG, 'challenge', claims.transport, claims.nonce, claims.tokenHash].join('\n');
    case 'request':
      return [DEVICE_PROOF_TAG, 'request', `${claims.method.toUpperCase()} ${claims.path}`, String(claims.timestamp), claims.nonce, claims.tokenHash].join('\n');
    case 'refresh':
      return [DEVICE_PROOF_TAG, 'refresh', claims.deviceId, String(claims.timestamp), claims.nonce, claims.tokenHash].join('\n');
  }
}

/** The REST header carrying a request proof: `<timestamp ms>.<nonce>.<signature>`. */
export const DEVICE_PROOF_HEADER = 'sotong-device-proof';

export function formatRequestProof(timestamp: number, nonce: string, signature: string): string {
  return `${timestamp}.${nonce}.${signature}`;
}

export function parseRequestProof(header: string): { timestamp: number; nonce: string; signature: string } | null {
  const match = /^(\d{1,16})\.([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{86})$/.exec(header.trim());
  if (!match) return null;
  return { timestamp: Number(match[1]), nonce: match[2]!, signature: match[3]! };
}

/** `GET /api/v1/auth/methods`: what a sign-in screen may offer. `saml.loginUrl` starts SP-initiated SSO (a browser navigation). */
export const SignInMethods = z.object({
  password: z.boolean(),
  passkey: z.boolean(),
  saml: z.object({ loginUrl: z.string() }).nullable(),
});
export type SignInMethods = z.infer<typeof SignInMethods>;
