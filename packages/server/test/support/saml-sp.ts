import assert from 'node:assert/strict';
import type { LoginResult, SessionGranted } from '@sotong/protocol';
import { rememberDevice, TestDevice } from '../../src/testing.js';
import type { SpawnedServer } from './fixtures.js';
import { b64 } from './saml-idp.js';

/**
 * The browser's and the app's side of SAML sign-in against a spawned server, shared by the tests
 * that drive it with the in-repo IdP and with an independent one (samlify).
 */

/** The public URL the IdP knows the SP by (behind a proxy, say); requests go to the spawned port. */
export const PUBLIC_URL = 'https://sotong.example.test';

export const ACS_PATH = '/api/v1/auth/saml/acs';

export type Refusal = { status: number; code: string; reason: string | undefined };

/** Posts a SAMLResponse to the ACS at `base` as a browser form would; never follows the redirect. */
export const postAcsAt = (base: string, xml: string, accept = 'application/json') =>
  fetch(`${base}${ACS_PATH}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', accept }, body: new URLSearchParams({ SAMLResponse: b64(xml) }) });

/** The one-time code from the ACS redirect to the app. */
export async function codeFrom(res: Response): Promise<string> {
  assert.equal(res.status, 303, await res.clone().text());
  const location = new URL(res.headers.get('location')!);
  assert.equal(`${location.origin}${location.pathname}`, `${PUBLIC_URL}/`);
  const code = /^#\/sso\?code=([^&]+)$/.exec(location.hash)?.[1];
  assert.ok(code, `no code in ${location.href}`);
  return decodeURIComponent(code);
}

/** The app's side: trades the code for a session of `device` (enrolled like at a password sign-in). */
export async function exchangeAt<T extends LoginResult = SessionGranted>(server: SpawnedServer, code: string, device = TestDevice.generate()): Promise<T> {
  const result = await server.request<T>('POST', '/api/v1/auth/sso/exchange', { code, device: device.enrolment() });
  if ('token' in result) rememberDevice(result.token, device);
  return result;
}

/** A refused request's status, error code and reason. */
export async function refusal(res: Response): Promise<Refusal> {
  const body = (await res.json()) as { code: string; details?: { reason?: string } };
  return { status: res.status, code: body.code, reason: body.details?.reason };
}
