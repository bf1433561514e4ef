import { commands, DeviceEnrolment, LoginResult, SotongError, User, type CommandName } from '@sotong/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { dispatch, type Services } from '../services/dispatch.js';
import { authenticateRequest } from './device-auth.js';
import type { Actor } from '../services/permissions.js';
import { HTTP_STATUS } from './errors.js';
import { COMMAND_ROUTES } from './routes.js';

export const API_PREFIX = '/api/v1';

const ErrorBody = z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() });
export const errorResponses = Object.fromEntries([...new Set(Object.values(HTTP_STATUS))].map((status) => [status, ErrorBody]));

declare module 'fastify' {
  interface FastifyRequest {
    actor?: Actor;
  }
}

export function bearer(request: FastifyRequest): string {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer (\S+)$/i.exec(header);
  if (!match) throw new SotongError('unauthenticated', 'send Authorization: Bearer <token>');
  return match[1]!;
}

/** Splits a command's argument schema into the route's path parameters and its query or body. */
function splitSchema(name: CommandName, url: string) {
  const args = commands[name].args as z.ZodObject;
  const pathKeys = [...url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
  const pick = Object.fromEntries(pathKeys.map((k) => [k, true])) as Record<string, true>;
  return { params: pathKeys.length > 0 ? args.pick(pick) : undefined, rest: pathKeys.length > 0 ? args.omit(pick) : args };
}

/** The preHandler of every signed-in route: the bearer token and its device proof become the request's actor. */
export function authenticator(services: Services): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    await authenticateRequest(services, request);
  };
}

export async function registerApi(app: FastifyInstance, services: Services): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const authenticate = authenticator(services);

  api.post(
    `${API_PREFIX}/auth/login`,
    {
      schema: {
        summary: 'Sign in with email and password from a device (enrolled on first use); returns an access token bound to it',
        tags: ['auth'],
        body: z.object({ email: z.string().min(1).max(320), password: z.string().min(1).max(1024), device: DeviceEnrolment.optional() }),
        response: { 200: LoginResult, ...errorResponses },
      },
    },
    async (request) => services.accounts.login(request.body.email, request.body.password, { address: request.ip, device: request.body.device }),
  );

  api.post(
    `${API_PREFIX}/auth/logout`,
    { preHandler: authenticate, schema: { summary: 'End this access token', tags: ['auth'], security: [{ bearer: [] }], response: { 200: z.object({}), ...errorResponses } } },
    async (request) => {
      await services.accounts.logout(bearer(request));
      return {};
    },
  );

  api.post(
    `${API_PREFIX}/admin/users`,
    {
      preHandler: authenticate,
      schema: {
        summary: 'Create a user (workspace admins)',
        tags: ['admin'],
        security: [{ bearer: [] }],
        body: z.object({
          email: z.email(),
          displayName: z.string().min(1).max(120),
          password: z.string().max(1024).optional(),
          role: z.enum(['admin', 'member', 'guest']).optional(),
        }),
        response: { 200: User, ...errorResponses },
      },
    },
    async (request) => services.accounts.createUser(request.actor!, request.body),
  );

  for (const [method, path, name, summary] of COMMAND_ROUTES) {
    const { params, rest } = splitSchema(name, path);
    const input = method === 'GET' || method === 'DELETE' ? 'querystring' : 'body';
    api.route({
      method,
      url: `${API_PREFIX}${path}`,
      preHandler: authenticate,
      schema: {
        summary,
        operationId: name,
        tags: [path.split('/')[1] ?? 'api'],
        security: [{ bearer: [] }],
        ...(params ? { params } : {}),
        [input]: rest,
        response: { 200: commands[name].result, ...errorResponses },
      },
      handler: async (request) => {
        const args = { ...(request[input === 'body' ? 'body' : 'query'] as object), ...(request.params as object) };
        // The route's response schema checks the shape on the way out.
        return dispatch(services, request.actor!, name, args) as Promise<never>;
      },
    });
  }
}
