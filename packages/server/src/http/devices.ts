import { Device, DeviceSignature, SessionGranted } from '@sotong/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services/dispatch.js';
import { API_PREFIX, errorResponses } from './api.js';

const signedIn = { security: [{ bearer: [] }] };
const deviceParams = z.object({ deviceId: z.string().min(1).max(64) });
const userParams = z.object({ userId: z.string().min(1).max(64) });

/** Devices: renewing access, listing and revoking one's own, approval, and the admin side. Checks are the services' `can()`. */
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

  api.get(
    `${API_PREFIX}/admin/users/:userId/devices`,
    { preHandler: authenticate, schema: { ...signedIn, tags: ['admin'], summary: "A user's devices", params: userParams, response: { 200: z.object({ devices: z.array(Device) }), ...errorResponses } } },
    async (request) => ({ devices: await devices.list(request.actor!, request.params.userId) }),
  );

  api.post(
    `${API_PREFIX}/admin/users/:userId/devices/revoke`,
    {
      preHandler: authenticate,
      schema: { ...signedIn, tags: ['admin'], summary: "Revoke all of a user's devices", params: userParams, response: { 200: z.object({ revoked: z.number().int() }), ...errorResponses } },
    },
    async (request) => ({ revoked: await devices.revokeAll(request.actor!, request.params.userId) }),
  );

  const policy = z.object({ approvalRequired: z.boolean() });
  api.get(
    `${API_PREFIX}/admin/policy/devices`,
    { preHandler: authenticate, schema: { ...signedIn, tags: ['admin'], summary: 'Device policy', response: { 200: policy, ...errorResponses } } },
    async (request) => ({ approvalRequired: await devices.approvalRequired(request.actor!) }),
  );
  api.put(
    `${API_PREFIX}/admin/policy/devices`,
    {
      preHandler: authenticate,
      schema: { ...signedIn, tags: ['admin'], summary: 'Device policy: new devices wait for approval from another device of the user or an admin', body: policy, response: { 200: policy, ...errorResponses } },
    },
    async (request) => {
      await devices.setApprovalRequired(request.actor!, request.body.approvalRequired);
      return { approvalRequired: request.body.approvalRequired };
    },
  );
}
