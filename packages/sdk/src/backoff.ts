export interface BackoffOptions {
  /** Delay ceiling of the first retry. */
  baseMs: number;
  maxMs: number;
}

/**
 * Exponential backoff with "equal jitter": half of the delay is fixed, half random, so clients
 * that lost the same server do not all come back at the same moment.
 * `attempt` counts from 0.
 */
export function backoffDelay(attempt: number, { baseMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
