import type { IncomingMessage } from 'node:http';
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/**
 * Structured JSON logs. Credentials are redacted wherever they appear; message content is never
 * passed to the logger in the first place.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'sotong' },
    serializers: { req: requestForLog },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token', 'password', 'token'],
      censor: '[redacted]',
    },
  });
}

/** Fastify's request fields, with the signature of a signed download link (a credential while it lives) hidden. */
function requestForLog(req: IncomingMessage & { ip?: string; socket?: { remotePort?: number } }) {
  return {
    method: req.method,
    url: req.url?.replace(/([?&]sig=)[^&#]*/g, '$1[redacted]'),
    host: req.headers?.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
