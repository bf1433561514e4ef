import { DevicePending, SessionGranted, SotongError, type DeviceEnrolment } from '@sotong/protocol';
import { unavailable } from './errors.js';
import { errorFromBody, type LoginResult } from './http.js';
import type { TotpSetup } from './rest.js';

async function post(httpBase: string, path: string, payload: unknown, fetchImpl: typeof fetch): Promise<unknown> {
  let response: Response;
  try {
    response = await fetchImpl(`${httpBase.replace(/\/$/, '')}/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
  } catch (error) {
    throw unavailable(`two-factor set-up request failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw errorFromBody(body, response.status, 'two-factor set-up');
  return body;
}

/**
 * When the workspace requires two factors and the account has none, the password step answers
 * `mfa: 'enroll'` with a challenge: set up an authenticator with it, then confirm with a code,
 * which finishes the sign-in of `device` (enrolled like a password sign-in; `SotongClient.fromLogin` makes the client).
 */
export async function startTotpEnrollment(httpBase: string, challenge: string, fetchImpl: typeof fetch = globalThis.fetch): Promise<TotpSetup> {
  return (await post(httpBase, '/auth/totp/setup', { challenge }, fetchImpl)) as TotpSetup;
}

export async function finishTotpEnrollment(
  httpBase: string,
  challenge: string,
  code: string,
  device: DeviceEnrolment,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<{ recoveryCodes: string[]; session: LoginResult }> {
  const body = (await post(httpBase, '/auth/totp/confirm', { challenge, code, device }, fetchImpl)) as { recoveryCodes: string[] };
  const session = SessionGranted.or(DevicePending).safeParse(body);
  if (!session.success) throw new SotongError('internal', 'two-factor set-up answered without a session');
  return { recoveryCodes: body.recoveryCodes, session: session.data };
}
