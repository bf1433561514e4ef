import type { CDPSession, Page } from 'playwright-core';

export interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
  /** The passkeys it holds (rpId, resident or not). */
  credentials(): Promise<{ credentialId: string; rpId?: string; isResidentCredential: boolean }[]>;
}

/**
 * Plugs a virtual platform authenticator into the page through the DevTools WebAuthn domain: it
 * answers `navigator.credentials.create/get` at once, with user verification, and keeps
 * discoverable passkeys, as a laptop's fingerprint reader would.
 */
export async function addVirtualAuthenticator(page: Page): Promise<VirtualAuthenticator> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return {
    cdp,
    authenticatorId,
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
  };
}
