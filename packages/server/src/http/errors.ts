import { SotongError, type ErrorCode } from '@sotong/protocol';
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  quota_exceeded: 413,
  rate_limited: 429,
  unsupported_version: 400,
  slow_consumer: 400,
  unavailable: 503,
  internal: 500,
};

/** Every failure leaves as `{code, message, details?}` with the status that matches the code. */
export function installErrorHandling(app: FastifyInstance, recordRefusal?: (err: unknown, address: string) => Promise<void>): void {
  app.setErrorHandler(async (err: FastifyError, request, reply) => {
    await recordRefusal?.(err, request.ip);
    const error = toSotongError(err);
    if (error.code === 'internal') request.log.error({ err }, 'request failed');
    return reply.status(HTTP_STATUS[error.code]).send(error.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send(new SotongError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`).toBody());
  });
}

function toSotongError(err: FastifyError): SotongError {
  if (err instanceof SotongError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    const details = err.validation.map((v) => ({ path: v.instancePath, message: v.message }));
    return new SotongError('bad_request', 'invalid request', details);
  }
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new SotongError('too_large', 'request body too large');
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return new SotongError('bad_request', err.message);
  return new SotongError('internal', 'internal error');
}
