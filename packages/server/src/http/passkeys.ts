import { DeviceEnrolment, DevicePending, PasskeyInfo, SessionGranted } from '@sotong/protocol';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PasskeyService } from '../services/passkeys.js';
import { API_PREFIX, errorResponses } from './api.js';

const auth = { tags: ['auth'] };
const ceremony = z.string().min(1).max(128);
const challenge = z.string().min(1).max(128);
/** The browser's `PublicKeyCredential.toJSON()`; @simplewebauthn/server checks every field of it. */
const credentialJson = z.object({ id: z.string().min(1).max(1024), rawId: z.string().max(1024), type: z.literal('public-key'), response: z.record(z.string(), z.unknown()) }).passthrough();
const options = z.record(z.string(), z.unknown());
/** The options as plain JSON for the response schema. */
const sent = async (ceremony: Promise<{ ceremony: string; options: object }>) => {
  const c = await ceremony;
  return { ceremony: c.ceremony, options: { ...c.options } };
};
/** What a passkey sign-in answers: like a password sign-in, a session of this device or the device pending approval. */
const SignInAnswer = z.union([SessionGranted, DevicePending]);

/** Passkeys: registration and management (signed in), the second sign-in step, and passwordless sign-in. */
export async function registerPasskeyApi(app: FastifyInstance, passkeys: PasskeyService, authenticate: (request: FastifyRequest) => Promise<void>): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const signedIn = { preHandler: authenticate };
  const bearer = { security: [{ bearer: [] }] };

  api.get(
    `${API_PREFIX}/auth/passkeys`,
    { ...signedIn, schema: { ...auth, ...bearer, summary: 'My passkeys', response: { 200: z.object({ passkeys: z.array(PasskeyInfo) }), ...errorResponses } } },
    async (request) => ({ passkeys: await passkeys.list(request.actor!) }),
  );

  api.post(
    `${API_PREFIX}/auth/passkeys/options`,
    {
      ...signedIn,
      schema: { ...auth, ...bearer, summary: 'Start registering a passkey: options for navigator.credentials.create()', response: { 200: z.object({ ceremony, options }), ...errorResponses } },
    },
    async (request) => sent(passkeys.registrationOptions(request.actor!)),
  );

  api.post(
    `${API_PREFIX}/auth/passkeys`,
    {
      ...signedIn,
      schema: {
        ...auth,
        ...bearer,
        summary: 'Finish registering a passkey with the credential the browser created',
        body: z.object({ ceremony, response: credentialJson, name: z.string().max(100).optional() }),
        response: { 200: PasskeyInfo, ...errorResponses },
      },
    },
    async (request) =>
      passkeys.register(request.actor!, request.body.ceremony, request.body.response as unknown as RegistrationResponseJSON, request.body.name, { address: request.ip }),
  );

  api.delete(
    `${API_PREFIX}/auth/passkeys/:passkeyId`,
    {
      ...signedIn,
      schema: { ...auth, ...bearer, summary: 'Remove one of my passkeys', params: z.object({ passkeyId: z.string().min(1).max(1024) }), response: { 200: z.object({}), ...errorResponses } },
    },
    async (request) => {
      await passkeys.remove(request.actor!, request.params.passkeyId, { address: request.ip });
      return {};
    },
  );

  api.post(
    `${API_PREFIX}/auth/login/passkey/options`,
    {
      schema: {
        ...auth,
        summary: 'Second sign-in step with a passkey: options for navigator.credentials.get()',
        body: z.object({ challenge }),
        response: { 200: z.object({ ceremony, options }), ...errorResponses },
      },
    },
    async (request) => sent(passkeys.secondFactorOptions(request.body.challenge)),
  );

  api.post(
    `${API_PREFIX}/auth/login/passkey`,
    {
      schema: {
        ...auth,
        summary: 'Finish the second sign-in step with the passkey assertion: a session of this device, or the device pending approval',
        body: z.object({ challenge, ceremony, response: credentialJson, device: DeviceEnrolment.optional() }),
        response: { 200: SignInAnswer, ...errorResponses },
      },
    },
    async (request) =>
      passkeys.completeSecondFactor(request.body.challenge, request.body.ceremony, request.body.response as unknown as AuthenticationResponseJSON, {
        address: request.ip,
        device: request.body.device,
      }),
  );

  api.post(
    `${API_PREFIX}/auth/passkey/options`,
    { schema: { ...auth, summary: 'Passwordless sign-in: options for navigator.credentials.get() (discoverable passkeys)', response: { 200: z.object({ ceremony, options }), ...errorResponses } } },
    async () => sent(passkeys.passwordlessOptions()),
  );

  api.post(
    `${API_PREFIX}/auth/passkey`,
    {
      schema: {
        ...auth,
        summary: 'Passwordless sign-in: finish with the passkey assertion: a session of this device, or the device pending approval',
        body: z.object({ ceremony, response: credentialJson, device: DeviceEnrolment.optional() }),
        response: { 200: SignInAnswer, ...errorResponses },
      },
    },
    async (request) =>
      passkeys.completePasswordless(request.body.ceremony, request.body.response as unknown as AuthenticationResponseJSON, { address: request.ip, device: request.body.device }),
  );
}
