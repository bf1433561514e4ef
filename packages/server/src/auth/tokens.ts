import { createHash, randomBytes } from 'node:crypto';

/** Session tokens are random; only their SHA-256 is stored, so a database copy cannot sign anyone in. */
export function newSessionToken(): string {
  return `st_${randomBytes(32).toString('base64url')}`;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
