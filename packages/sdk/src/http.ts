import { SotongError, User, ERROR_CODES, type ErrorCode } from '@sotong/protocol';
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

export async function login(
  httpBase: string,
  email: string,
  password: string,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<LoginResult> {
  let response: Response;
  try {
    response = await fetchImpl(`${httpBase.replace(/\/$/, '')}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
  } catch (error) {
    throw unavailable(`login request failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw errorFromBody(body, response.status, 'login');
  const token = (body as { token?: unknown } | undefined)?.token;
  const user = User.safeParse((body as { user?: unknown } | undefined)?.user);
  if (typeof token !== 'string' || !user.success) {
    throw new SotongError('internal', 'login answered without a token and user');
  }
  return { token, user: user.data };
}

/** The server's typed error from a failed REST answer; `what` names the request when the body has no code. */
export function errorFromBody(body: unknown, status: number, what: string): SotongError {
  const { code, message, details } = (body ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code)) {
    return new SotongError(code as ErrorCode, typeof message === 'string' ? message : code, details);
  }
  return new SotongError(status >= 500 ? 'unavailable' : 'bad_request', `${what} failed with HTTP ${status}`);
}
