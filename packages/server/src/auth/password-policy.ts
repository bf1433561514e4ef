import { SotongError } from '@sotong/protocol';
import { COMMON_PASSWORDS } from './common-passwords.js';

export interface PasswordContext {
  email: string;
  displayName: string;
}

const TRAILING_JUNK = /[\d\W_]+$/u;

function isSequence(s: string): boolean {
  const codes = Array.from(s, (c) => c.codePointAt(0)!);
  const steps = new Set(codes.slice(1).map((c, i) => c - codes[i]!));
  return steps.size === 1 && [...steps].every((d) => Math.abs(d) <= 1);
}

/** Length, a blocklist of breached-corpus favourites, and nothing made of the person's own name. */
export function checkPasswordPolicy(password: string, minLength: number, who?: PasswordContext): void {
  const refuse = (why: string) => {
    throw new SotongError('bad_request', `password refused: ${why}`, { reason: why });
  };
  if (Array.from(password).length < minLength) refuse(`a password needs at least ${minLength} characters`);
  const folded = password.normalize('NFKC').toLowerCase();
  const compact = folded.replace(/\s+/g, '');
  if (COMMON_PASSWORDS.has(compact) || COMMON_PASSWORDS.has(compact.replace(TRAILING_JUNK, ''))) {
    refuse('it is one of the most common passwords');
  }
  if (isSequence(compact)) refuse('it is a run of repeated or consecutive characters');
  const local = who?.email.split('@')[0]?.toLowerCase() ?? '';
  const name = who?.displayName.toLowerCase().replace(/\s+/g, '') ?? '';
  for (const own of [local, name]) {
    if (own.length >= 4 && compact.includes(own)) refuse('it contains your name or email');
  }
}
