import { AuditEvent, User } from '@sotong/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services/dispatch.js';
import { API_PREFIX, errorResponses } from './api.js';

const admin = { tags: ['admin'], security: [{ bearer: [] }] };
const userParams = z.object({ userId: z.string().min(1).max(64) });

/** Workspace administration: roles, deactivation, the audit log. The permission check is the services' `can()`. */
export async function registerAdminApi(app: FastifyInstance, services: Services, authenticate: (request: FastifyRequest) => Promise<void>): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    `${API_PREFIX}/admin/users/:userId/deactivate`,
    {
      preHandler: authenticate,
      schema: { ...admin, summary: 'Deactivate a user: their sessions end at once', params: userParams, response: { 200: z.object({}), ...errorResponses } },
    },
    async (request) => {
      await services.accounts.deactivate(request.actor!, request.params.userId);
      return {};
    },
  );

  api.patch(
    `${API_PREFIX}/admin/users/:userId`,
    {
      preHandler: authenticate,
      schema: {
        ...admin,
        summary: "Change a user's workspace role (their live sessions reconnect with it)",
        params: userParams,
        body: z.object({ role: z.enum(['admin', 'member', 'guest']) }),
        response: { 200: User, ...errorResponses },
      },
    },
    async (request) => services.accounts.setRole(request.actor!, request.params.userId, request.body.role),
  );

  api.get(
    `${API_PREFIX}/admin/audit`,
    {
      preHandler: authenticate,
      schema: {
        ...admin,
        summary: 'The security audit log, newest first',
        querystring: z.object({ limit: z.coerce.number<number | string>().int().min(1).max(500).default(100), before: z.coerce.number<number | string>().int().optional() }),
        response: { 200: z.object({ events: z.array(AuditEvent) }), ...errorResponses },
      },
    },
    async (request) => ({ events: await services.accounts.auditLog(request.actor!, request.query.limit, request.query.before) }),
  );
}
