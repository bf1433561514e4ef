import { DevicePending, ERROR_CODES, SecondStepRequired, SessionGranted, SignInMethods, SotongError, type DeviceEnrolment, type ErrorCode } from '@sotong/protocol';
import type { DeviceKey } from './device-key.js';
import { randomNonce, secretHash, signClaims } from './device-proof.js';
import { unavailable } from './errors.js';

/** A session on this device, or the device waiting for approval (renew with its credential once approved). */
export type LoginResult = SessionGranted | DevicePending;

/** `http://host:8080/base` → `ws://host:8080/base/ws` */
export function webSocketUrl(httpBase: string): string {
  const url = new URL(httpBase);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/ws`;
  return url.toString();
}

export async function postJson(httpBase: string, path: string, payload: unknown, what: string, fetchImpl: typeof fetch): Promise<unknown> {
  let response: Response;
  try {
    response = await fetchImpl(`${httpBase.replace(/\/$/, '')}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
  } catch (error) {
    throw unavailable(`${what} request failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw errorFromBody(body, response.status, what);
  return body;
}

/** A sign-in answer: a session of the device, or the device pending approval. */
export function session(body: unknown): LoginResult {
  const parsed = SessionGranted.or(DevicePending).safeParse(body);
  if (!parsed.success) throw new SotongError('internal', 'sign-in answered without a session or a pending device');
  return parsed.data;
}

/**
 * Signs in with a password from the device described by `device` (enrolled on first use). When the account has a second factor (or the workspace requires one),
 * this throws `unauthenticated` with `details: {mfa: 'totp' | 'enroll', challenge, expiresAt}`:
 * finish with `loginWithCode` (or enrol over REST with the challenge).
 */
export async function login(httpBase: string, email: string, password: string, device: DeviceEnrolment, fetchImpl: typeof fetch = globalThis.fetch): Promise<LoginResult> {
  const body = await postJson(httpBase, '/api/v1/auth/login', { email, password, device }, 'login', fetchImpl);
  const second = SecondStepRequired.safeParse(body);
  if (second.success) throw new SotongError('unauthenticated', 'a second sign-in step is required', second.data);
  return session(body);
}

/** The second sign-in step: a code from the authenticator app, or a recovery code. */
export async function loginWithCode(
  httpBase: string,
  challenge: string,
  code: string,
  device: DeviceEnrolment,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<LoginResult> {
  return session(await postJson(httpBase, '/api/v1/auth/login/code', { challenge, code, device }, 'login', fetchImpl));
}

/** A new access token for the device from its credential and a signature by its key; no sign-in. */
export async function refresh(httpBase: string, key: DeviceKey, deviceId: string, credential: string, fetchImpl: typeof fetch = globalThis.fetch): Promise<SessionGranted> {
  const timestamp = Date.now();
  const nonce = randomNonce();
  const signature = await signClaims(key, { kind: 'refresh', deviceId, timestamp, nonce, tokenHash: await secretHash(credential) });
  const body = await postJson(httpBase, '/api/v1/auth/refresh', { deviceId, credential, timestamp, nonce, signature }, 'refresh', fetchImpl);
  const parsed = SessionGranted.safeParse(body);
  if (!parsed.success) throw new SotongError('internal', 'refresh answered without a session');
  return parsed.data;
}

/**
 * Finishes a SAML single sign-on: the server's ACS redirected the browser to the app with
 * `?code=…` (one-time, valid about a minute); this trades it for a session of the device described
 * by `device` (enrolled on first use), or the device pending approval. When the workspace
 * does not trust the IdP for two factors and one is due, it throws like `login` does.
 */
export async function exchangeSsoCode(
  httpBase: string,
  code: string,
  device: DeviceEnrolment,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<LoginResult> {
  const body = await postJson(httpBase, '/api/v1/auth/sso/exchange', { code, device }, 'sso sign-in', fetchImpl);
  const second = SecondStepRequired.safeParse(body);
  if (second.success) throw new SotongError('unauthenticated', 'a second sign-in step is required', second.data);
  return session(body);
}

/** The server's typed error from a failed REST answer; `what` names the request when the body has no code. */
export function errorFromBody(body: unknown, status: number, what: string): SotongError {
  const { code, message, details } = (body ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code)) {
    return new SotongError(code as ErrorCode, typeof message === 'string' ? message : code, details);
  }
  return new SotongError(status >= 500 ? 'unavailable' : 'bad_request', `${what} failed with HTTP ${status}`);
}

/** What the server's sign-in screen may offer: password, passkeys, and SAML SSO when configured (navigate to `saml.loginUrl`). */
export async function signInMethods(httpBase: string, fetchImpl: typeof fetch = globalThis.fetch): Promise<SignInMethods> {
  let response: Response;
  try {
    response = await fetchImpl(`${httpBase.replace(/\/$/, '')}/api/v1/auth/methods`);
  } catch (error) {
    throw unavailable(`sign-in methods request failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw errorFromBody(body, response.status, 'sign-in methods');
  return SignInMethods.parse(body);
}
