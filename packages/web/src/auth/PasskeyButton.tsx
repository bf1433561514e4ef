import { SotongError } from '@sotong/sdk';
import type { TFunction } from 'i18next';

/** A button that starts a passkey ceremony (the browser then shows its own prompt). */
export function PasskeyButton({ label, busy, onClick, autoFocus }: { label: string; busy: boolean; onClick: () => void; autoFocus?: boolean }) {
  return (
    <button type="button" className="passkey" disabled={busy} onClick={onClick} autoFocus={autoFocus}>
      {label}
    </button>
  );
}

/** WebAuthn exists only in a secure context (https, or http on localhost). */
export function passkeysSupported(): boolean {
  return window.isSecureContext && typeof window.PublicKeyCredential === 'function';
}

/**
 * What went wrong in the browser's part of a passkey ceremony, in the reader's language; undefined
 * for the server's refusals, which `errorText` words.
 */
export function passkeyErrorText(t: TFunction, error: unknown): string | undefined {
  if (error instanceof SotongError || !(error instanceof Error)) return undefined;
  if ((error as Error & { code?: string }).code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED') return t('passkeys.already');
  if (error.name === 'NotAllowedError' || error.name === 'AbortError') return t('passkeys.cancelled');
  return t('passkeys.failed');
}
