import { SotongError } from '@sotong/protocol';

/**
 * What a data key is bound to when the CMK wraps it (AWS KMS calls it the encryption context,
 * Vault Transit the context): unwrapping with any other context fails. Values are ids, never
 * secrets or content; providers may log or audit them.
 */
export type KeyContext = Readonly<Record<string, string>>;

/** A data key as stored: only ever wrapped, with the id of the CMK (and its version) that wrapped it. */
export interface WrappedKey {
  cmkId: string;
  wrapped: Buffer;
}

/**
 * A customer master key (CMK) that never leaves the KMS or HSM, used only to wrap and unwrap
 * short-lived data keys — the shape of AWS KMS (GenerateDataKey, Decrypt, ReEncrypt) and of
 * Vault Transit (datakey/plaintext, decrypt, rewrap, rotate). Adding a provider means
 * implementing these five calls; see docs/encryption.md.
 *
 * Every failure to reach the KMS is a `KeyProviderUnavailableError`; a wrapped key that does not
 * unwrap (tampered, wrong context, unknown CMK version) is a `KeyRejectedError`.
 */
export interface KeyProvider {
  /** `local`, `pkcs11`, …: for metrics, audit and `sotong keys status`. */
  readonly name: string;
  /** The CMK version new data keys are wrapped under. */
  currentCmkId(): Promise<string>;
  /** A fresh 256-bit data key, in plaintext (for use now) and wrapped under the current CMK (to store). */
  generateDataKey(context: KeyContext): Promise<WrappedKey & { plaintext: Buffer }>;
  /** The plaintext of a wrapped data key, if `context` is the one it was wrapped with. */
  decrypt(key: WrappedKey, context: KeyContext): Promise<Buffer>;
  /** The same data key wrapped under the current CMK version, without it leaving the provider where that is possible. */
  rewrap(key: WrappedKey, context: KeyContext): Promise<WrappedKey>;
  /** Makes a new CMK version current; older versions stay usable for `decrypt` and `rewrap`. Returns the new id. */
  rotateMaster(): Promise<string>;
  close(): Promise<void>;
}

/** The KMS or HSM cannot be reached (or refuses us): callers fail closed, never fall back to plaintext. */
export class KeyProviderUnavailableError extends SotongError {
  constructor(provider: string, why: string) {
    super('unavailable', `the key provider (${provider}) is unavailable: ${why}`, { reason: 'key_provider_unavailable' });
  }
}

/** A wrapped key or a sealed value that does not open: tampered with, moved to another row, or its key destroyed. */
export class KeyRejectedError extends SotongError {
  constructor(message: string, reason: 'ciphertext_rejected' | 'key_destroyed' | 'unknown_key' = 'ciphertext_rejected') {
    super('internal', message, { reason });
  }
}

/** The context as bytes for associated data: sorted keys, so the same context always gives the same bytes. */
export function contextBytes(context: KeyContext): Buffer {
  const sorted = Object.keys(context)
    .sort()
    .map((k) => [k, context[k]]);
  return Buffer.from(JSON.stringify(sorted), 'utf8');
}
