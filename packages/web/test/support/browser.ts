import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (apt-get install chromium fonts-noto-cjk); never a downloaded browser. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.SOTONG_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Screenshots of the main screens, kept as test artefacts (git-ignored). */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'web');

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

export async function newPage(browser: Browser, locale = 'en-US'): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  (page as Page & { errors?: string[] }).errors = errors;
  return { context, page };
}

/** Errors the page logged (uncaught exceptions, console errors such as CSP refusals). */
/**
 * Headless pages are always visible: lets the test hide the tab (`window.__hidden = true`) and
 * records the real notifications the page raises (`window.__notes`), from the next navigation on.
 */
export async function recordNotifications(context: BrowserContext): Promise<void> {
  await context.grantPermissions(['notifications']);
  await context.addInitScript(() => {
    const w = window as unknown as { __hidden: boolean; __notes: Array<{ title: string; body?: string }> };
    w.__hidden = false;
    w.__notes = [];
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (w.__hidden ? 'hidden' : 'visible') });
    const Real = window.Notification;
    window.Notification = class extends Real {
      constructor(title: string, options?: NotificationOptions) {
        super(title, options);
        w.__notes.push({ title, ...(options?.body ? { body: options.body } : {}) });
      }
    } as typeof Notification;
  });
}

export function pageErrors(page: Page): string[] {
  return (page as Page & { errors?: string[] }).errors ?? [];
}

export async function signIn(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(baseUrl);
  await page.locator('input[type=email]').fill(email);
  await page.locator('input[type=password]').fill(password);
  await page.locator('button[type=submit]').click();
  await page.locator('nav.sidebar').waitFor();
}

export async function openChannel(page: Page, name: string): Promise<void> {
  await page.locator(`nav.sidebar button[data-channel="${name}"]`).click();
  await page.locator('#channel-title', { hasText: name }).waitFor();
}

/** Types into the channel composer and presses Enter. */
export async function post(page: Page, text: string): Promise<void> {
  const box = page.locator('#composer-input');
  await box.fill(text);
  await box.press('Enter');
}

export const messages = (page: Page, text: string) => page.locator('.message-list [data-testid=message]', { hasText: text });
