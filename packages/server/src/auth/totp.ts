import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

const PERIOD_SECONDS = 30;

/** RFC 6238 time-based codes (6 digits, 30 s, SHA-1: what every authenticator app reads). */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secret: string, label = 'sotong'): TOTP {
  return new TOTP({ issuer: 'Sotong', label, secret: Secret.fromBase32(secret), digits: 6, period: PERIOD_SECONDS, algorithm: 'SHA1' });
}

/** The otpauth:// URI an authenticator app takes from a QR code. */
export function totpUri(secret: string, email: string): string {
  return totp(secret, email).toString();
}

/** The time step the code belongs to (one step of clock drift either way), or null if it is wrong. */
export function totpStep(secret: string, code: string, nowMs: number): number | null {
  const delta = totp(secret).validate({ token: code.replace(/\s+/g, ''), timestamp: nowMs, window: 1 });
  return delta === null ? null : Math.floor(nowMs / 1000 / PERIOD_SECONDS) + delta;
}

/** A code for tests and for clients that hold the secret. */
export function totpCode(secret: string, nowMs: number): string {
  return totp(secret).generate({ timestamp: nowMs });
}

/** Ten one-time recovery codes, `xxxx-xxxx-xxxx`, shown once. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: 10 }, () => randomBytes(6).toString('hex').match(/.{4}/g)!.join('-'));
}
