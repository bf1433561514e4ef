import { ERROR_CODES, SecondStepRequired, SessionGranted, SotongError, type ErrorCode, type User } from '@sotong/protocol';
import { unavailable } from './errors.js';

export interface LoginResult {
  token: string;
  user: User;
}

/** `http://host:8080/base` → `ws://host:8080/base/ws` */
export function webSocketUrl(httpBase: string): string {
  const url = new URL(httpBase);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/ws`;
  return url.toString();
}

async function postJson(httpBase: string, path: string, payload: unknown, what: string, fetchImpl: typeof fetch): Promise<unknown> {
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

function session(body: unknown): LoginResult {
  const parsed = SessionGranted.safeParse(body);
  if (!parsed.success) throw new SotongError('internal', 'sign-in answered without a token and user');
  return parsed.data;
}

/**
 * Signs in with a password. When the account has a second factor (or the workspace requires one),
 * this throws `unauthenticated` with `details: {mfa: 'totp' | 'enroll', challenge, expiresAt}`:
 * finish with `loginWithCode` (or enrol over REST with the challenge).
 */
export async function login(httpBase: string, email: string, password: string, fetchImpl: typeof fetch = globalThis.fetch): Promise<LoginResult> {
  const body = await postJson(httpBase, '/api/v1/auth/login', { email, password }, 'login', fetchImpl);
  const second = SecondStepRequired.safeParse(body);
  if (second.success) throw new SotongError('unauthenticated', 'a second sign-in step is required', second.data);
  return session(body);
}

/** The second sign-in step: a code from the authenticator app, or a recovery code. */
export async function loginWithCode(httpBase: string, challenge: string, code: string, fetchImpl: typeof fetch = globalThis.fetch): Promise<LoginResult> {
  return session(await postJson(httpBase, '/api/v1/auth/login/code', { challenge, code }, 'login', fetchImpl));
}

/**
 * Finishes a SAML single sign-on: the server's ACS redirected the browser to the app with
 * `?code=…` (one-time, valid about a minute); this trades it for a session. When the workspace
 * does not trust the IdP for two factors and one is due, it throws like `login` does.
 */
export async function exchangeSsoCode(httpBase: string, code: string, fetchImpl: typeof fetch = globalThis.fetch): Promise<LoginResult> {
  const body = await postJson(httpBase, '/api/v1/auth/sso/exchange', { code }, 'sso sign-in', fetchImpl);
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
