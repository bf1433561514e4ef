/** Error codes shared by every transport (WebSocket, REST, and the transports still to come). */
export const ERROR_CODES = [
  'bad_request',
  'unauthenticated',
  'forbidden',
  'not_found',
  'conflict',
  'too_large',
  /** A per-user or per-workspace storage quota would be exceeded. */
  'quota_exceeded',
  'rate_limited',
  'unsupported_version',
  'slow_consumer',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/** A typed failure: thrown by services, carried unchanged to every client. */
export class SotongError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'SotongError';
    this.code = code;
    if (details !== undefined) this.details = details;
  }
  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}
