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
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', '*.password', '*.token', 'password', 'token'],
      censor: '[redacted]',
    },
  });
}
