import { DEVICE_PROOF_HEADER, parseRequestProof, SotongError } from '@sotong/protocol';
import type { FastifyRequest } from 'fastify';
import type { Services } from '../services/dispatch.js';
import type { DeviceAuthenticated, PresentedProof } from '../services/devices.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The device whose key signed this request. */
    deviceId?: string;
  }
}

/**
 * The REST face of proof of possession: `Authorization: Bearer <access token>` plus
 * `Sotong-Device-Proof: <timestamp>.<nonce>.<signature>`, the device key's signature over the
 * method, the path (with its query, as sent), the time, the nonce and the token's hash.
 */
export async function authenticateRequest(services: Services, request: FastifyRequest): Promise<DeviceAuthenticated> {
  const { token, proof } = presented(request);
  const authenticated = await services.accounts.devices.authenticate(token, proof, { address: request.ip });
  request.actor = authenticated.actor;
  request.deviceId = authenticated.deviceId;
  return authenticated;
}

/** The same check, for a request on a connection that already has its actor (long-poll): answers the device. */
export async function proveRequestDevice(services: Services, request: FastifyRequest): Promise<string> {
  const { token, proof } = presented(request);
  return (await services.accounts.devices.prove(token, proof, { address: request.ip })).deviceId;
}

function presented(request: FastifyRequest): { token: string; proof: PresentedProof } {
  const token = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (!token) throw new SotongError('unauthenticated', 'send Authorization: Bearer <token>');
  const header = request.headers[DEVICE_PROOF_HEADER];
  const parsed = typeof header === 'string' ? parseRequestProof(header) : null;
  return {
    token,
    proof: {
      claims: { kind: 'request', method: request.method, path: request.url, timestamp: parsed?.timestamp ?? 0, nonce: parsed?.nonce ?? '' },
      // A garbled header is a proof that does not hold (refused and audited as such), not a missing one.
      signature: parsed ? parsed.signature : typeof header === 'string' ? '' : undefined,
    },
  };
}
