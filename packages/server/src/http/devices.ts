import { Device, DeviceSignature, SessionGranted } from '@sotong/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services/dispatch.js';
import { API_PREFIX, errorResponses } from './api.js';

const signedIn = { security: [{ bearer: [] }] };
const deviceParams = z.object({ deviceId: z.string().min(1).max(64) });

/**
 * Devices: renewing access, listing and revoking one's own, approval. Checks are the services' `can()`;
 * the admin side (a user's devices, revoke all, the device policy) is in the command table.
 */
export async function registerDeviceApi(app: FastifyInstance, services: Services, authenticate: (request: FastifyRequest) => Promise<void>): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const devices = services.accounts.devices;

  api.post(
    `${API_PREFIX}/auth/refresh`,
    {
      schema: {
        tags: ['auth'],
        summary: "Renew the access token with the device's credential and a signature by its key (no sign-in)",
        body: z.object({
          deviceId: z.string().min(1).max(64),
          credential: z.string().min(1).max(128),
          timestamp: z.number().int().nonnegative(),
          nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
          signature: DeviceSignature,
        }),
        response: { 200: SessionGranted, ...errorResponses },
      },
    },
    async (request) => devices.refresh(request.body, { address: request.ip }),
  );

  api.get(
    `${API_PREFIX}/devices`,
    { preHandler: authenticate, schema: { ...signedIn, tags: ['devices'], summary: 'My devices', response: { 200: z.object({ devices: z.array(Device) }), ...errorResponses } } },
    async (request) => ({ devices: await devices.list(request.actor!, request.actor!.userId, request.deviceId) }),
  );

  api.delete(
    `${API_PREFIX}/devices/:deviceId`,
    {
      preHandler: authenticate,
      schema: { ...signedIn, tags: ['devices'], summary: 'Revoke a device (my own; an admin: anyone in the workspace)', params: deviceParams, response: { 200: z.object({}), ...errorResponses } },
    },
    async (request) => {
      await devices.revoke(request.actor!, request.params.deviceId);
      return {};
    },
  );

  api.post(
    `${API_PREFIX}/devices/:deviceId/approve`,
    {
      preHandler: authenticate,
      schema: { ...signedIn, tags: ['devices'], summary: 'Approve a device waiting for approval (from another device of mine; an admin: anyone)', params: deviceParams, response: { 200: Device, ...errorResponses } },
    },
    async (request) => devices.approve(request.actor!, request.params.deviceId),
  );
}
