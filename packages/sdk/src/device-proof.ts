import { DEVICE_PROOF_HEADER, deviceProofMessage, formatRequestProof, type DeviceProofClaims } from '@sotong/protocol';
import { toBase64Url, type DeviceKey } from './device-key.js';

const encoder = new TextEncoder();

/** base64url SHA-256 of a token or credential: what a proof binds to instead of the secret itself. */
export async function secretHash(secret: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(secret))));
}

export function randomNonce(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
}

export async function signClaims(key: DeviceKey, claims: DeviceProofClaims): Promise<string> {
  return toBase64Url(await key.sign(encoder.encode(deviceProofMessage(claims))));
}

/** The headers of one REST request: the access token and the device's proof over method, path and time. */
export async function requestHeaders(key: DeviceKey, token: string, method: string, url: string): Promise<Record<string, string>> {
  const { pathname, search } = new URL(url);
  const timestamp = Date.now();
  const nonce = randomNonce();
  const signature = await signClaims(key, { kind: 'request', method, path: `${pathname}${search}`, timestamp, nonce, tokenHash: await secretHash(token) });
  return { authorization: `Bearer ${token}`, [DEVICE_PROOF_HEADER]: formatRequestProof(timestamp, nonce, signature) };
}
