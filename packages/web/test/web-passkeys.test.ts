import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '@sotong/protocol';
import { spawnServer, TEST_PASSWORD, TestDevice, type SpawnedServer } from '@sotong/server/testing';
import type { Browser, Page } from 'playwright-core';
import { addVirtualAuthenticator } from './support/authenticator.js';
import { launchBrowser, newPage, pageErrors, screenshot, signIn } from './support/browser.js';

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Sotong' }).waitFor();
}

describe('web client: passkeys', () => {
  let server: SpawnedServer;
  let browser: Browser;
  /** A passkey is bound to a domain (RP ID), not an IP address: the app is opened at localhost. */
  let origin: string;

  before(async () => {
    server = await spawnServer();
    origin = server.httpUrl.replace('127.0.0.1', 'localhost');
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const audit = async () => (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=500', undefined, await server.adminToken())).events;

  it('registers a passkey from the profile, then signs in with it as second factor and with no password at all, and removes it', async () => {
    const erin = await server.createUser('erin@sotong.test', 'Erin');
    const { context, page } = await newPage(browser);
    await page.goto(origin);
    const authenticator = await addVirtualAuthenticator(page);
    await signIn(page, origin, erin.email, TEST_PASSWORD);

    await page.getByRole('button', { name: 'My profile' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('No passkey yet.', { exact: false }).waitFor();
    await dialog.getByLabel('Passkey name').fill('Work laptop');
    await dialog.getByRole('button', { name: 'Add a passkey' }).click();
    await dialog.locator('[data-testid=passkeys] li', { hasText: 'Work laptop' }).waitFor();
    const [held] = await authenticator.credentials();
    assert.equal(held?.rpId, 'localhost');
    assert.equal(held?.isResidentCredential, true);
    await screenshot(page, 'profile-passkeys');
    // The same authenticator cannot register a second passkey for the account.
    await dialog.getByRole('button', { name: 'Add a passkey' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'already holds a passkey' }).waitFor();
    await page.keyboard.press('Escape');
    await signOut(page);

    // Password first: the account now confirms with its passkey.
    await page.locator('input[type=email]').fill(erin.email);
    await page.locator('input[type=password]').fill(TEST_PASSWORD);
    await page.locator('button[type=submit]').click();
    const usePasskey = page.getByRole('button', { name: 'Use a passkey' });
    await usePasskey.waitFor();
    assert.equal(await page.getByLabel('Verification code').count(), 0, 'no code to type: the account has no authenticator app');
    await screenshot(page, 'signin-passkey-step');
    // Keyboard: the passkey button has the focus, Enter presses it.
    await page.keyboard.press('Enter');
    await page.locator('nav.sidebar').waitFor();
    assert.equal(await page.locator('.sidebar-header .me').innerText(), 'Erin');
    await signOut(page);

    // Passwordless: no email, no password; the authenticator offers Erin's discoverable passkey.
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.locator('nav.sidebar').waitFor();
    assert.equal(await page.locator('.sidebar-header .me').innerText(), 'Erin');
    const factors = (await audit()).filter((e) => e.action === 'login.succeeded' && e.actorId === erin.id).map((e) => (e.details as { factor?: string }).factor);
    assert.ok(factors.includes('passkey') && factors.includes('passkey_passwordless'), `factors audited: ${factors.join(', ')}`);

    page.once('dialog', (confirm) => void confirm.accept());
    await page.getByRole('button', { name: 'My profile' }).click();
    await dialog.getByRole('button', { name: 'Remove passkey Work laptop' }).click();
    await dialog.getByText('No passkey yet.', { exact: false }).waitFor();
    const login = await server.signIn(erin.email, TEST_PASSWORD, TestDevice.generate());
    assert.ok('token' in login, 'without the passkey the password alone signs in again');
    assert.deepEqual(pageErrors(page), []);
    await context.close();
  });

  it('says so in Korean when this browser holds no passkey for the workspace', async () => {
    const { context, page } = await newPage(browser, 'ko-KR');
    await page.goto(origin);
    await addVirtualAuthenticator(page);
    await page.getByRole('button', { name: '패스키로 로그인' }).click();
    await page.getByRole('alert').filter({ hasText: '패스키' }).waitFor();
    await screenshot(page, 'signin-passkey-none-ko');
    await context.close();
  });
});
