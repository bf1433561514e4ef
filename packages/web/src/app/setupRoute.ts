/**
 * The first-run set-up link the server printed: `/#/setup?code=…`. Read once, and taken out of the
 * address bar (the code is the owner's one-time password). Undefined when the address is not one.
 */
export function readSetupLink(): { code: string } | undefined {
  const match = /^#\/setup(?:\?(.*))?$/.exec(window.location.hash);
  if (!match) return undefined;
  history.replaceState(null, '', window.location.pathname);
  return { code: new URLSearchParams(match[1] ?? '').get('code') ?? '' };
}
