/** What the server's SAML redirect brought back: `/#/sso?code=…` or `/#/sso?error=<reason>`. */
export interface SsoReturn {
  code?: string;
  error?: string;
}

/** Reads the SSO return from the address once, and takes it out of the address bar (the code is single-use). */
export function readSsoReturn(): SsoReturn | undefined {
  const match = /^#\/sso(?:\?(.*))?$/.exec(window.location.hash);
  if (!match) return undefined;
  const query = new URLSearchParams(match[1] ?? '');
  history.replaceState(null, '', window.location.pathname);
  const code = query.get('code') ?? undefined;
  const error = query.get('error') ?? undefined;
  return { ...(code ? { code } : {}), ...(error ? { error } : {}) };
}
