import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { User } from '@sotong/protocol';
import { spawnServer, TEST_PASSWORD, totpCode, type SpawnedServer } from '@sotong/server/testing';
import type { Browser } from 'playwright-core';
import { launchBrowser, newPage, pageErrors, screenshot, signIn } from './support/browser.js';

describe('web client: serving, sign-in and language', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let alice: User;

  before(async () => {
    server = await spawnServer({ env: { SOTONG_LOGIN_MAX_FAILURES: '50' } });
    browser = await launchBrowser();
    alice = await server.createUser('alice@sotong.test', 'Alice');
    const token = await server.login(alice.email, TEST_PASSWORD);
    await server.request('POST', '/api/v1/channels', { name: 'general' }, token);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves the app at / with a strict Content-Security-Policy, and index.html for client routes only', async () => {
    const root = await fetch(`${server.httpUrl}/`);
    assert.equal(root.status, 200);
    assert.match(root.headers.get('content-type') ?? '', /text\/html/);
    const csp = root.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /object-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await root.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'index.html loads a built script');
    const asset = await fetch(`${server.httpUrl}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);

    const deep = await fetch(`${server.httpUrl}/channels/some-id`);
    assert.equal(deep.status, 200);
    assert.equal(await deep.text(), html);
    const api = await fetch(`${server.httpUrl}/api/v1/nothing-here`);
    assert.equal(api.status, 404);
    assert.equal(((await api.json()) as { code: string }).code, 'not_found');
    assert.equal((await fetch(`${server.httpUrl}/assets/missing.js`)).status, 404);
    assert.equal((await fetch(`${server.httpUrl}/..%2f..%2fpackage.json`)).status, 404);
  });

  it('speaks Korean when the browser prefers it and English otherwise, dates included', async () => {
    const ko = await newPage(browser, 'ko-KR');
    await ko.page.goto(server.httpUrl);
    await ko.page.getByRole('heading', { name: '소통에 로그인' }).waitFor();
    assert.equal(await ko.page.getAttribute('html', 'lang'), 'ko');
    await screenshot(ko.page, 'signin-ko');
    await signIn(ko.page, server.httpUrl, alice.email, TEST_PASSWORD);
    await ko.page.getByRole('heading', { name: '채널' }).waitFor();
    assert.doesNotMatch(await ko.page.locator('body').innerText(), /Channels|Direct messages|Settings|Sign out|Browse|Members|Search|Send/);
    await ko.page.locator('#composer-input').fill('날짜 확인');
    await ko.page.locator('#composer-input').press('Enter');
    const divider = ko.page.locator('[data-testid=day-divider]').first();
    await divider.waitFor();
    assert.match(await divider.innerText(), /\d+년 \d+월 \d+일/);
    assert.match(await ko.page.locator('[data-testid=message] time').first().innerText(), /^(오전|오후) \d+:\d{2}$/);
    await screenshot(ko.page, 'workspace-ko');
    await ko.context.close();

    const en = await newPage(browser, 'en-US');
    await en.page.goto(server.httpUrl);
    await en.page.getByRole('heading', { name: 'Sign in to Sotong' }).waitFor();
    await signIn(en.page, server.httpUrl, alice.email, TEST_PASSWORD);
    await en.page.getByRole('heading', { name: 'Channels' }).waitFor();
    const enDivider = en.page.locator('[data-testid=day-divider]').first();
    await enDivider.waitFor();
    assert.match(await enDivider.innerText(), /[A-Z][a-z]+day, [A-Z][a-z]+ \d+, \d{4}/);

    // The language can be changed in settings, and the choice is kept for the next visit.
    await en.page.getByRole('button', { name: 'Settings' }).click();
    await en.page.getByTestId('language').selectOption('ko');
    await en.page.getByRole('heading', { name: '설정' }).waitFor();
    await en.page.keyboard.press('Escape');
    // After a reload the device session resumes, in the chosen language.
    await en.page.reload();
    await en.page.getByRole('heading', { name: '채널' }).waitFor();
    assert.deepEqual(pageErrors(en.page), []);
    await en.context.close();
  });

  it('refuses a wrong password with a readable error and keeps the token out of storage', async () => {
    const { context, page } = await newPage(browser);
    await page.goto(server.httpUrl);
    await page.locator('input[type=email]').fill(alice.email);
    await page.locator('input[type=password]').fill('not the password at all');
    await page.locator('button[type=submit]').click();
    await page.getByRole('alert').filter({ hasText: 'Wrong email, password or code.' }).waitFor();

    await signIn(page, server.httpUrl, alice.email, TEST_PASSWORD);
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    assert.doesNotMatch(stored, /token|[A-Za-z0-9_-]{32,}/i);
    await context.close();
  });

  it('asks for the authenticator code after the password when two-factor sign-in is on', async () => {
    const carol = await server.createUser('carol@sotong.test', 'Carol');
    const token = await server.login(carol.email, TEST_PASSWORD);
    const { secret } = await server.request<{ secret: string }>('POST', '/api/v1/auth/totp/setup', {}, token);
    await server.request('POST', '/api/v1/auth/totp/confirm', { code: totpCode(secret, Date.now()) }, token);

    const { context, page } = await newPage(browser);
    await page.goto(server.httpUrl);
    await page.locator('input[type=email]').fill(carol.email);
    await page.locator('input[type=password]').fill(TEST_PASSWORD);
    await page.locator('button[type=submit]').click();
    const code = page.getByLabel('Verification code');
    await code.waitFor();
    await screenshot(page, 'signin-totp');
    await code.fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').waitFor();
    // The next step's code: the one used to confirm may not be used again.
    await code.fill(totpCode(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.locator('nav.sidebar').waitFor();
    assert.equal(await page.locator('.sidebar-header .me').innerText(), 'Carol');
    await context.close();
  });

  it('turns two-factor sign-in on from the profile, and the next sign-in asks for the code', async () => {
    const dave = await server.createUser('dave@sotong.test', 'Dave');
    const { context, page } = await newPage(browser);
    await signIn(page, server.httpUrl, dave.email, TEST_PASSWORD);
    await page.getByRole('button', { name: 'My profile' }).click();
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = await page.getByTestId('totp-secret').innerText();
    await page.getByRole('dialog').getByLabel('Verification code').fill(totpCode(secret, Date.now()));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByText('Keep these one-time recovery codes').waitFor();
    assert.equal(await page.locator('.codes li').count(), 10);
    await context.close();

    const login = await server.request<{ mfa?: string }>('POST', '/api/v1/auth/login', { email: dave.email, password: TEST_PASSWORD });
    assert.equal(login.mfa, 'totp');
  });
  // Last: it turns the workspace policy on for everyone.
  it('when the workspace requires two factors, a new account sets up its authenticator while signing in', async () => {
    const frank = await server.createUser('frank@sotong.test', 'Frank');
    const adminToken = await server.login(server.admin.email, server.admin.password);
    await server.request('PUT', '/api/v1/admin/policy', { mfaRequired: true }, adminToken);
    const { context, page } = await newPage(browser);
    await page.goto(server.httpUrl);
    await page.locator('input[type=email]').fill(frank.email);
    await page.locator('input[type=password]').fill(TEST_PASSWORD);
    await page.locator('button[type=submit]').click();
    await page.getByRole('heading', { name: 'Set up two-factor sign-in' }).waitFor();
    const secret = await page.getByTestId('totp-secret').innerText();
    await page.getByLabel('Verification code').fill(totpCode(secret, Date.now()));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.locator('.codes li').first().waitFor();
    assert.equal(await page.locator('.codes li').count(), 10);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.locator('nav.sidebar').waitFor();
    assert.equal(await page.locator('.sidebar-header .me').innerText(), 'Frank');
    await context.close();
  });
});
