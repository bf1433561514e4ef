import { DeviceEnrolment, DevicePending, SessionGranted } from '@sotong/protocol';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services/dispatch.js';
import { FirstRunService } from '../services/first-run.js';
import { API_PREFIX, errorResponses } from './api.js';

const tags = ['auth'];

/** The first-run set-up in the browser (services/first-run.ts): public, guarded by the printed one-time code. */
export async function registerFirstRunApi(app: FastifyInstance, services: Services): Promise<void> {
  const firstRun = new FirstRunService(services.deps, services.accounts);
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    `${API_PREFIX}/setup`,
    { schema: { tags, summary: "Whether the first-run set-up is still open (the owner has not signed in yet), and the workspace's name", response: { 200: z.object({ open: z.boolean(), workspaceName: z.string().nullable() }) } } },
    async () => firstRun.status(),
  );

  api.post(
    `${API_PREFIX}/setup`,
    {
      schema: {
        tags,
        summary: 'Finish the first run with the printed one-time code: name the workspace, name the owner, set their password; signs this device in',
        body: z.object({
          code: z.string().min(1).max(256),
          workspaceName: z.string().min(1).max(100),
          displayName: z.string().min(1).max(100),
          password: z.string().min(1).max(1024),
          device: DeviceEnrolment.optional(),
        }),
        response: { 200: z.union([SessionGranted, DevicePending]), ...errorResponses },
      },
    },
    async (request) => {
      const { device, ...setup } = request.body;
      return firstRun.complete(setup, { address: request.ip, ...(device ? { device } : {}) });
    },
  );
}
