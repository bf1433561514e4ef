import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

/** Debian's chromium, headless, with nothing reaching out to the network on its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page at `origin` with a virtual platform authenticator (CTAP2, internal, resident keys, user verification). */
export interface AuthenticatorPage {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
  close(): Promise<void>;
}

/**
 * Opens an empty page served by the test at the real server's origin (the page's own path is
 * answered by the test; every other request, the API, goes to the server), and plugs a virtual
 * authenticator into it through the DevTools WebAuthn domain.
 */
export async function authenticatorPage(browser: Browser, origin: string): Promise<AuthenticatorPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.route(`${origin}/passkey-test`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><meta charset="utf-8"><title>passkeys</title>' }));
  await page.goto(`${origin}/passkey-test`);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { context, page, cdp, authenticatorId, close: () => context.close() };
}
