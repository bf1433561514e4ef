import { DirectoryStatus, DirectorySyncResult } from '@sotong/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services/dispatch.js';
import { configuredDirectory } from '../services/directory.js';
import { API_PREFIX, errorResponses } from './api.js';

const admin = { tags: ['admin'], security: [{ bearer: [] }] };

/** The directory (LDAP / AD) for workspace admins: sync now, and how the last sync went. */
export async function registerDirectoryApi(app: FastifyInstance, services: Services, authenticate: (request: FastifyRequest) => Promise<void>): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    `${API_PREFIX}/admin/directory/sync`,
    {
      preHandler: authenticate,
      schema: { ...admin, summary: 'Sync people, departments and groups from the directory now', response: { 200: DirectorySyncResult, ...errorResponses } },
    },
    async (request) => configuredDirectory(services.directory, request.actor!).syncNow(request.actor!),
  );

  api.get(
    `${API_PREFIX}/admin/directory`,
    {
      preHandler: authenticate,
      schema: { ...admin, summary: 'The directory sync: schedule and the last outcome', response: { 200: DirectoryStatus, ...errorResponses } },
    },
    async (request) => configuredDirectory(services.directory, request.actor!).status(request.actor!),
  );
}
