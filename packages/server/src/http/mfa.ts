import { DeviceCredential, DeviceEnrolment, LoginResult, SotongError, User } from '@sotong/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services/dispatch.js';
import type { Enrollee } from '../services/mfa.js';
import { API_PREFIX, errorResponses } from './api.js';
import { authenticateRequest } from './device-auth.js';

const auth = { tags: ['auth'] };
const code = z.string().min(6).max(32);
const challenge = z.string().min(1).max(128);

/** Two-factor sign-in: the code step, enrolment (signed in, or halfway through a sign-in), and the workspace policy. */
export async function registerMfaApi(app: FastifyInstance, services: Services, authenticate: (request: FastifyRequest) => Promise<void>): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const mfa = services.accounts.mfa;

  /** A signed-in user (bearer token) or the challenge of a sign-in that requires enrolment. */
  const enrollee = async (request: FastifyRequest, pending?: string): Promise<Enrollee> => {
    if (pending) return { challenge: pending };
    if (!request.headers.authorization) throw new SotongError('unauthenticated', 'sign in, or give the challenge of the sign-in');
    return { actor: (await authenticateRequest(services, request)).actor };
  };

  api.post(
    `${API_PREFIX}/auth/login/code`,
    {
      schema: {
        ...auth,
        summary: 'Second sign-in step: a code from the authenticator app, or a recovery code',
        body: z.object({ challenge, code, device: DeviceEnrolment.optional() }),
        response: { 200: LoginResult, ...errorResponses },
      },
    },
    async (request) => mfa.completeSignIn(request.body.challenge, request.body.code, { address: request.ip, device: request.body.device }),
  );

  api.post(
    `${API_PREFIX}/auth/totp/setup`,
    {
      schema: {
        ...auth,
        summary: 'Start two-factor set-up: a secret and its otpauth:// URI for a QR code',
        body: z.object({ challenge: challenge.optional() }),
        response: { 200: z.object({ secret: z.string(), uri: z.string() }), ...errorResponses },
      },
    },
    async (request) => mfa.startEnrolment(await enrollee(request, request.body.challenge)),
  );

  api.post(
    `${API_PREFIX}/auth/totp/confirm`,
    {
      schema: {
        ...auth,
        summary: 'Confirm set-up with a code; returns one-time recovery codes (and a session when signing in)',
        body: z.object({ code, challenge: challenge.optional(), device: DeviceEnrolment.optional() }),
        response: {
          200: z.object({
            recoveryCodes: z.array(z.string()),
            token: z.string().optional(),
            expiresAt: z.number().optional(),
            user: User.optional(),
            device: DeviceCredential.optional(),
            devicePending: z.literal(true).optional(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const origin = { address: request.ip, device: request.body.device };
      const { recoveryCodes, session } = await mfa.confirmEnrolment(await enrollee(request, request.body.challenge), request.body.code, origin);
      return { recoveryCodes, ...session };
    },
  );

  api.post(
    `${API_PREFIX}/auth/totp/disable`,
    {
      preHandler: authenticate,
      schema: { ...auth, summary: 'Turn two-factor sign-in off (takes a current code)', security: [{ bearer: [] }], body: z.object({ code }), response: { 200: z.object({}), ...errorResponses } },
    },
    async (request) => {
      await mfa.disable(request.actor!, request.body.code, { address: request.ip });
      return {};
    },
  );

  api.put(
    `${API_PREFIX}/admin/policy`,
    {
      preHandler: authenticate,
      schema: {
        tags: ['admin'],
        summary: 'Workspace sign-in policy: require two-factor sign-in',
        security: [{ bearer: [] }],
        body: z.object({ mfaRequired: z.boolean() }),
        response: { 200: z.object({ mfaRequired: z.boolean() }), ...errorResponses },
      },
    },
    async (request) => {
      await mfa.setRequired(request.actor!, request.body.mfaRequired);
      return { mfaRequired: request.body.mfaRequired };
    },
  );
}
