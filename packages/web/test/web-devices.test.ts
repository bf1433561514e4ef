import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Device, User } from '@sotong/protocol';
import { spawnServer, TEST_PASSWORD, type SpawnedServer } from '@sotong/server/testing';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newPage, pageErrors, screenshot, signIn } from './support/browser.js';

/** What the app keeps in IndexedDB's `sotong-web` store (the device credential, cursors). */
function storedValues(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open('sotong-web');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const all = open.result.transaction('values').objectStore('values').getAll();
          all.onsuccess = () => resolve((all.result as unknown[]).map(String));
          all.onerror = () => reject(all.error);
        };
      }),
  );
}

async function openProfileDevices(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'My profile' }).click();
  await page.locator('[data-testid=devices]').waitFor();
}

describe('web client: devices', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let adminToken: string;

  before(async () => {
    server = await spawnServer();
    browser = await launchBrowser();
    adminToken = await server.login(server.admin.email, server.admin.password);
    await server.request('POST', '/api/v1/channels', { name: 'general' }, adminToken);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const devicesOf = async (user: User) => (await server.request<{ devices: Device[] }>('GET', `/api/v1/admin/users/${user.id}/devices`, undefined, adminToken)).devices;

  it('signing in enrols this browser as a device, and a reload resumes the session with no password', async () => {
    const user = await server.createUser('resume@sotong.test', 'Resume');
    const { context, page } = await newPage(browser);
    await signIn(page, server.httpUrl, user.email, TEST_PASSWORD);

    const [device] = await devicesOf(user);
    assert.equal(device?.status, 'active');
    assert.equal(device?.name, 'Chrome on Linux');
    // The key pair is a non-extractable CryptoKey; no token or credential sits in script-readable storage.
    const probe = await page.evaluate(async () => {
      const sdkStore = indexedDB.open('sotong-device');
      const pair = await new Promise<CryptoKeyPair>((resolve, reject) => {
        sdkStore.onsuccess = () => {
          const db = sdkStore.result;
          const get = db.transaction(db.objectStoreNames[0]!).objectStore(db.objectStoreNames[0]!).getAll();
          get.onsuccess = () => resolve((get.result as CryptoKeyPair[])[0]!);
          get.onerror = () => reject(get.error);
        };
      });
      const exported = await crypto.subtle.exportKey('pkcs8', pair.privateKey).then(
        () => 'exported',
        (error: Error) => error.name,
      );
      return { exported, extractable: pair.privateKey.extractable, web: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie };
    });
    assert.equal(probe.exported, 'InvalidAccessError');
    assert.equal(probe.extractable, false);
    assert.doesNotMatch(probe.web, /token|credential|[A-Za-z0-9_-]{32,}/i);
    const stored = (await storedValues(page)).join('\n');
    assert.match(stored, new RegExp(`"deviceId":"${device!.id}"`));
    assert.doesNotMatch(stored, /"token"/);

    // A reload: the password form never shows; the same device renews a token by itself.
    await page.reload();
    await page.locator('nav.sidebar').waitFor();
    assert.equal(await page.locator('input[type=password]').count(), 0);
    const after = await devicesOf(user);
    assert.deepEqual(
      after.map((d) => d.id),
      [device!.id],
    );
    await openProfileDevices(page);
    await page.locator('[data-testid=devices] tr', { hasText: 'this device' }).waitFor();
    await screenshot(page, 'devices-profile');

    // Signing out ends the device; the next visit asks for the password.
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('input[type=password]').waitFor();
    assert.equal((await devicesOf(user))[0]?.status, 'revoked');
    await page.reload();
    await page.locator('input[type=password]').waitFor();
    assert.deepEqual(pageErrors(page).filter((e) => !/401|403/.test(e)), []);
    await context.close();
  });

  it('revoking this browser from another session signs this tab out and says why', async () => {
    const user = await server.createUser('revoked@sotong.test', 'Revoked');
    const laptop = await newPage(browser);
    const phone = await newPage(browser);
    await signIn(laptop.page, server.httpUrl, user.email, TEST_PASSWORD);
    await signIn(phone.page, server.httpUrl, user.email, TEST_PASSWORD);

    await openProfileDevices(phone.page);
    const rows = phone.page.locator('[data-testid=devices] tbody tr');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    phone.page.once('dialog', (dialog) => void dialog.accept());
    await phone.page.locator('[data-testid=devices] tbody tr', { hasNotText: 'this device' }).getByRole('button', { name: /^Revoke/ }).click();
    await phone.page.locator('[data-testid=devices] tbody tr', { hasText: 'Revoked' }).waitFor();

    await laptop.page.getByText('This browser was signed out: its device was revoked from another session.').waitFor();
    await laptop.page.locator('input[type=password]').waitFor();
    await screenshot(laptop.page, 'device-revoked');
    // Nothing left to resume with: a reload asks for the password again.
    await laptop.page.reload();
    await laptop.page.locator('input[type=password]').waitFor();
    // The other session goes on.
    assert.equal(await phone.page.locator('nav.sidebar').count(), 1);
    await laptop.context.close();
    await phone.context.close();
  });

  it("an admin sees a person's devices in the console and revokes one", async () => {
    const user = await server.createUser('managed@sotong.test', 'Managed');
    const member = await newPage(browser);
    await signIn(member.page, server.httpUrl, user.email, TEST_PASSWORD);
    const admin = await newPage(browser);
    await signIn(admin.page, server.httpUrl, server.admin.email, server.admin.password);

    await admin.page.getByRole('button', { name: 'Admin console' }).click();
    await admin.page.getByRole('tab', { name: 'Devices' }).click();
    await admin.page.getByLabel('Person').selectOption({ label: `Managed (${user.email})` });
    const row = admin.page.locator('[data-testid=devices] tbody tr', { hasText: 'Chrome on Linux' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /Active/);
    admin.page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: /^Revoke/ }).click();
    await admin.page.locator('[data-testid=devices] tbody tr', { hasText: 'Revoked' }).waitFor();
    await screenshot(admin.page, 'admin-devices');

    await member.page.getByText('This browser was signed out').waitFor();
    assert.equal((await devicesOf(user))[0]?.status, 'revoked');
    await member.context.close();
    await admin.context.close();
  });

  it('a new device waits for approval with a clear message and continues once approved', async () => {
    const user = await server.createUser('pending@sotong.test', 'Pending');
    // The admin's browser signs in before the policy: devices enrolled then stay active.
    const admin = await newPage(browser);
    await signIn(admin.page, server.httpUrl, server.admin.email, server.admin.password);
    await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: true }, adminToken);
    try {
      const { context, page } = await newPage(browser);
      await page.goto(server.httpUrl);
      await page.locator('input[type=email]').fill(user.email);
      await page.locator('input[type=password]').fill(TEST_PASSWORD);
      await page.locator('button[type=submit]').click();
      await page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();
      await page.getByText('Your workspace approves new devices.').waitFor();
      await screenshot(page, 'device-pending');
      // Still waiting after a reload, with no password asked.
      await page.reload();
      await page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();

      const [device] = await devicesOf(user);
      assert.equal(device?.status, 'pending');
      // An admin approves it from the console's device view; the waiting page goes on by itself.
      await admin.page.getByRole('button', { name: 'Admin console' }).click();
      await admin.page.getByRole('tab', { name: 'Devices' }).click();
      await admin.page.getByLabel('Person').selectOption({ label: `Pending (${user.email})` });
      const row = admin.page.locator('[data-testid=devices] tbody tr', { hasText: 'Waiting for approval' });
      await row.getByRole('button', { name: /^Approve/ }).click();
      await admin.page.locator('[data-testid=devices] tbody tr', { hasText: 'Active' }).waitFor();
      await page.locator('nav.sidebar').waitFor({ timeout: 15_000 });
      assert.equal((await devicesOf(user))[0]?.status, 'active');
      await context.close();
    } finally {
      await admin.context.close();
      await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: false }, adminToken);
    }
  });

  it('the SSO return route shows why single sign-on failed, and no SSO button when SAML is not configured', async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${server.httpUrl}/#/sso?error=assertion_expired`);
    await page.getByText('Single sign-on did not finish (assertion_expired)').waitFor();
    // The one-time code or error does not stay in the address bar.
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(await page.getByRole('link', { name: /single sign-on/ }).count(), 0);
    const methods = await server.request<{ saml: unknown }>('GET', '/api/v1/auth/methods');
    assert.equal(methods.saml, null);
    await context.close();
  });
});
