import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawnServer, TEST_PASSWORD, type SpawnedServer } from '@sotong/server/testing';
import { companyEntries, directoryEnv } from '@sotong/server/test-support/directory-fixtures';
import { TestIdp } from '@sotong/server/test-support/saml-idp';
import { startSlapd, type Slapd } from '@sotong/server/test-support/slapd';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newPage, pageErrors, screenshot, signIn } from './support/browser.js';

async function openIdentityTab(page: Page, tab = 'Directory & SSO', console = 'Admin console') {
  await page.getByRole('button', { name: console }).click();
  const dialog = page.getByRole('dialog', { name: console });
  await dialog.getByRole('tab', { name: tab }).click();
  return dialog;
}

describe('web admin console: directory, SSO and the device policy', () => {
  let slapd: Slapd;
  let server: SpawnedServer;
  let browser: Browser;
  const idp = new TestIdp('');

  before(async () => {
    slapd = await startSlapd({ entries: companyEntries() });
    server = await spawnServer({
      env: directoryEnv(slapd, { SOTONG_SAML: idp.settings() }),
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await slapd?.stop();
  });

  it('shows the directory and SSO set-up, and "sync now" brings the directory’s people in with the counts', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, server.httpUrl, server.admin.email, server.admin.password);
    const dialog = await openIdentityTab(page);
    const directory = dialog.getByTestId('directory-status');
    await directory.getByText('Never').waitFor();
    assert.match(await directory.innerText(), /Only when synced by hand/);

    await dialog.getByRole('button', { name: 'Sync now' }).click();
    await directory.getByText('Succeeded').waitFor();
    assert.match(await directory.innerText(), /6 people: 6 added, 0 updated, 0 deactivated, 0 skipped/);
    const users = await server.request<{ users: { email: string }[] }>('GET', '/api/v1/users?limit=100', undefined, await server.adminToken());
    assert.ok(users.users.length >= 7, 'the synced people are in the workspace');

    const sso = dialog.getByTestId('sso-status');
    await sso.getByText(idp.entityId).waitFor();
    const metadata = sso.getByRole('link', { name: 'Open the metadata (XML) for your identity provider' });
    const href = await metadata.getAttribute('href');
    assert.equal(href, `${server.httpUrl}/api/v1/auth/saml/metadata`);
    assert.match(await (await fetch(href!)).text(), /EntityDescriptor/);
    await screenshot(page, 'admin-identity');
    assert.deepEqual(pageErrors(page), []);
    await context.close();
  });

  it('turns "new devices must be approved" on, and approves a waiting device, which then opens the workspace', async () => {
    const mina = await server.createUser('mina@sotong.test', 'Mina');
    const admin = await newPage(browser);
    await signIn(admin.page, server.httpUrl, server.admin.email, server.admin.password);
    const dialog = await openIdentityTab(admin.page);
    const policy = dialog.getByRole('switch', { name: 'New devices must be approved' });
    await policy.waitFor();
    assert.equal(await policy.isChecked(), false);
    // Keyboard: Space flips the switch.
    await policy.focus();
    await admin.page.keyboard.press('Space');
    await dialog.getByRole('switch', { name: 'New devices must be approved', checked: true }).waitFor();
    const adminToken = await server.adminToken();
    assert.deepEqual(await server.request('GET', '/api/v1/admin/policy/devices', undefined, adminToken), { approvalRequired: true });

    const member = await newPage(browser);
    await member.page.goto(server.httpUrl);
    await member.page.locator('input[type=email]').fill(mina.email);
    await member.page.locator('input[type=password]').fill(TEST_PASSWORD);
    await member.page.locator('button[type=submit]').click();
    await member.page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();

    await dialog.getByRole('button', { name: 'Refresh' }).click();
    const approve = dialog.getByRole('button', { name: 'Approve Chrome on Linux of Mina' });
    await approve.waitFor();
    await screenshot(admin.page, 'admin-device-policy');
    await approve.click();
    await dialog.getByText('No device is waiting.').waitFor();
    // The waiting browser notices by itself, or at once when asked.
    await member.page.getByRole('button', { name: 'Check again' }).click();
    await member.page.locator('nav.sidebar').waitFor();

    await dialog.getByRole('switch', { name: 'New devices must be approved' }).click();
    await dialog.getByRole('switch', { name: 'New devices must be approved', checked: false }).waitFor();
    assert.deepEqual(await server.request('GET', '/api/v1/admin/policy/devices', undefined, adminToken), { approvalRequired: false });
    await member.context.close();
    await admin.context.close();
  });
});

describe('web admin console without a directory or SSO', () => {
  let server: SpawnedServer;
  let browser: Browser;

  before(async () => {
    server = await spawnServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('says neither is configured, in Korean', async () => {
    const { context, page } = await newPage(browser, 'ko-KR');
    await signIn(page, server.httpUrl, server.admin.email, server.admin.password);
    const dialog = await openIdentityTab(page, '디렉터리 및 SSO', '관리 콘솔');
    await dialog.getByText('디렉터리가 설정되지 않았습니다.', { exact: false }).waitFor();
    await dialog.getByText('통합 인증이 설정되지 않았습니다.').waitFor();
    await dialog.getByRole('switch', { name: '새 기기는 승인이 필요함' }).waitFor();
    assert.deepEqual(pageErrors(page), []);
    await context.close();
  });
});
