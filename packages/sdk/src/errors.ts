import { SotongError, type ErrorCode } from '@sotong/protocol';

/** Codes that describe a passing condition: the same request may succeed later. */
const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['unavailable', 'rate_limited', 'slow_consumer']);

export function isRetryable(error: SotongError): boolean {
  return RETRYABLE_CODES.has(error.code);
}

/** Connection-level failures are `unavailable`: the request may or may not have reached the server. */
export function unavailable(message: string): SotongError {
  return new SotongError('unavailable', message);
}

export function toSotongError(error: unknown): SotongError {
  if (error instanceof SotongError) return error;
  return new SotongError('internal', error instanceof Error ? error.message : String(error));
}
