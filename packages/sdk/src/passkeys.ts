import { startAuthentication, startRegistration, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import type { Ceremony, DeviceEnrolment } from '@sotong/protocol';
import { postJson, session, type LoginResult } from './http.js';

/** The answers of `navigator.credentials.create/get` as JSON, ready for the server. */
export type RegistrationJson = Awaited<ReturnType<typeof startRegistration>>;
export type AssertionJson = Awaited<ReturnType<typeof startAuthentication>>;

/**
 * Who runs the WebAuthn ceremonies. The default is the browser's own `navigator.credentials`
 * (through @simplewebauthn/browser); a native shell may bring its own.
 */
export interface Authenticator {
  create(options: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationJson>;
  get(options: PublicKeyCredentialRequestOptionsJSON): Promise<AssertionJson>;
}

export const browserAuthenticator: Authenticator = {
  create: (optionsJSON) => startRegistration({ optionsJSON }),
  get: (optionsJSON) => startAuthentication({ optionsJSON }),
};

/**
 * Passwordless sign-in: the authenticator offers a discoverable passkey (the browser asks which one),
 * and the server answers a session of the device described by `device`, or the device pending approval.
 */
export async function passkeyLogin(httpBase: string, device: DeviceEnrolment, authenticator = browserAuthenticator, fetchImpl: typeof fetch = globalThis.fetch): Promise<LoginResult> {
  const start = (await postJson(httpBase, '/api/v1/auth/passkey/options', {}, 'passkey sign-in', fetchImpl)) as Ceremony<PublicKeyCredentialRequestOptionsJSON>;
  const response = await authenticator.get(start.options);
  return session(await postJson(httpBase, '/api/v1/auth/passkey', { ceremony: start.ceremony, response, device }, 'passkey sign-in', fetchImpl));
}

/** The second sign-in step with a passkey, after a password step that answered `challenge`. */
export async function passkeySecondStep(
  httpBase: string,
  challenge: string,
  device: DeviceEnrolment,
  authenticator = browserAuthenticator,
  fetchImpl: typeof fetch = globalThis.fetch,
): Promise<LoginResult> {
  const start = (await postJson(httpBase, '/api/v1/auth/login/passkey/options', { challenge }, 'passkey sign-in', fetchImpl)) as Ceremony<PublicKeyCredentialRequestOptionsJSON>;
  const response = await authenticator.get(start.options);
  return session(await postJson(httpBase, '/api/v1/auth/login/passkey', { challenge, ceremony: start.ceremony, response, device }, 'passkey sign-in', fetchImpl));
}
