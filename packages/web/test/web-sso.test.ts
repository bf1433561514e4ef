import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '@sotong/protocol';
import { spawnServer, type SpawnedServer } from '@sotong/server/testing';
import type { Browser } from 'playwright-core';
import { makeKeyPair } from '@sotong/server/test-support/saml-idp';
import { BrowserIdp } from './support/browser-idp.js';
import { launchBrowser, newPage, pageErrors, screenshot } from './support/browser.js';

describe('web client: SAML single sign-on', () => {
  let server: SpawnedServer;
  let idp: BrowserIdp;
  let browser: Browser;

  before(async () => {
    idp = await BrowserIdp.start();
    server = await spawnServer({ env: { SOTONG_SAML: idp.settings() } });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await idp?.close();
  });

  it('the SSO button goes to the IdP and back, and lands signed in in the workspace', async () => {
    idp.signInAs({ nameId: 'corp-0042', email: 'hana.sso@corp.example', displayName: '김하나' });
    const { context, page } = await newPage(browser);
    await page.goto(server.httpUrl);
    const button = page.getByRole('link', { name: 'Sign in with single sign-on (SSO)' });
    await button.waitFor();
    await screenshot(page, 'signin-sso');
    // Keyboard: the button is reachable and Enter follows it.
    await button.focus();
    await page.keyboard.press('Enter');
    await page.locator('nav.sidebar').waitFor();
    assert.equal(await page.locator('.sidebar-header .me').innerText(), '김하나');
    assert.equal(idp.answered.length, 1, 'the browser went through the IdP once');
    assert.equal(new URL(page.url()).hash, '', 'the single-use code is out of the address bar');

    const events = (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=200', undefined, await server.adminToken())).events;
    assert.ok(events.some((e) => e.action === 'login.succeeded' && e.target === 'hana.sso@corp.example' && (e.details as { factor?: string }).factor === 'saml'));
    // The device session outlives a reload, as after a password sign-in.
    await page.reload();
    await page.locator('nav.sidebar').waitFor();
    assert.deepEqual(pageErrors(page), []);
    await context.close();
  });

  it('a response the server refuses brings the browser back to sign-in with the reason, in Korean', async () => {
    // An IdP signing with a key the workspace does not trust.
    idp.signInAs({ nameId: 'corp-0666', email: 'mallory@corp.example', displayName: 'Mallory' }, { keys: makeKeyPair('not-the-idp') });
    const { context, page } = await newPage(browser, 'ko-KR');
    await page.goto(server.httpUrl);
    await page.getByRole('link', { name: '통합 인증(SSO)으로 로그인' }).click();
    await page.getByRole('heading', { name: '소통에 로그인' }).waitFor();
    const notice = page.getByRole('status');
    await notice.waitFor();
    assert.match(await notice.innerText(), /통합 인증이 완료되지 않았습니다\(\w+\)/);
    assert.equal(await page.locator('nav.sidebar').count(), 0);
    await screenshot(page, 'signin-sso-refused-ko');
    await context.close();
  });
});
