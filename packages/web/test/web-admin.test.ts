import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { User } from '@sotong/protocol';
import { spawnServer, TEST_PASSWORD, type SpawnedServer } from '@sotong/server/testing';
import type { Browser } from 'playwright-core';
import { launchBrowser, messages, newPage, openChannel, post, screenshot, signIn } from './support/browser.js';

describe('web client: channels, members, pins and the admin console', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let bob: User;

  before(async () => {
    server = await spawnServer();
    browser = await launchBrowser();
    bob = await server.createUser('bob@sotong.test', 'Bob');
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('creates a channel, finds it in the browser from another account, joins, and sees members and pins', async () => {
    const admin = await newPage(browser);
    const a = admin.page;
    await signIn(a, server.httpUrl, server.admin.email, server.admin.password);
    await a.getByRole('button', { name: 'Create a channel' }).click();
    await a.getByLabel('Name').fill('projects');
    await a.getByLabel('Topic').fill('Everything shipping this quarter');
    await a.getByRole('button', { name: 'Create', exact: true }).click();
    await a.locator('#channel-title', { hasText: 'projects' }).waitFor();
    await post(a, 'Kick-off notes are in the wiki');
    const note = messages(a, 'Kick-off notes');
    await note.hover();
    await note.getByRole('button', { name: 'Pin' }).click();
    await note.locator('.pin-mark').waitFor();

    const member = await newPage(browser);
    const b = member.page;
    await signIn(b, server.httpUrl, bob.email, TEST_PASSWORD);
    await b.getByRole('button', { name: 'Browse channels' }).click();
    const row = b.getByRole('dialog').locator('li', { hasText: '#projects' });
    await row.getByRole('button', { name: 'Join' }).click();
    await b.locator('#channel-title', { hasText: 'projects' }).waitFor();
    await messages(b, 'Kick-off notes').waitFor();

    await b.getByRole('button', { name: /^Members/ }).click();
    const panel = b.getByTestId('members-panel');
    await panel.getByText('Bob').waitFor();
    await panel.getByText(/admin/i).first().waitFor();
    await b.getByRole('button', { name: 'Pins' }).click();
    await b.getByTestId('pins-panel').getByText('Kick-off notes are in the wiki').waitFor();
    await b.keyboard.press('Escape');
    await b.getByTestId('pins-panel').waitFor({ state: 'detached' });
    await member.context.close();
    await admin.context.close();
  });

  it('a group DM with two people reaches both, named after the others', async () => {
    const gina = await server.createUser('gina@sotong.test', 'Gina');
    const admin = await newPage(browser);
    await signIn(admin.page, server.httpUrl, server.admin.email, server.admin.password);
    await admin.page.getByRole('button', { name: 'New message' }).click();
    const dialog = admin.page.getByRole('dialog');
    await dialog.getByLabel(/Bob/).check();
    await dialog.getByLabel(/Gina/).check();
    await dialog.getByRole('button', { name: 'Start conversation' }).click();
    await admin.page.locator('#channel-title', { hasText: 'Bob, Gina' }).waitFor();
    await post(admin.page, 'Three of us');

    const member = await newPage(browser);
    await signIn(member.page, server.httpUrl, gina.email, TEST_PASSWORD);
    const item = member.page.locator('nav.sidebar .channel-item', { hasText: 'Admin' });
    assert.match(await item.innerText(), /Bob/);
    await item.locator('[data-testid=unread-badge]').waitFor();
    await item.click();
    await messages(member.page, 'Three of us').waitFor();
    await member.context.close();
    await admin.context.close();
  });

  it('the admin console lists people, changes a role, and shows the audit log; members do not see it', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, server.httpUrl, server.admin.email, server.admin.password);
    await page.getByRole('button', { name: 'Admin console' }).click();
    const dialog = page.getByRole('dialog', { name: 'Admin console' });
    await dialog.getByRole('cell', { name: 'bob@sotong.test' }).waitFor();
    await dialog.getByLabel('Role of Bob').selectOption('guest');
    await dialog.getByRole('tab', { name: 'Audit log' }).click();
    const log = page.getByTestId('audit-log');
    await log.getByText('role.changed').waitFor();
    await log.getByText('login.succeeded').first().waitFor();
    await screenshot(page, 'admin-audit');
    await context.close();

    const member = await newPage(browser);
    await signIn(member.page, server.httpUrl, bob.email, TEST_PASSWORD);
    assert.equal(await member.page.getByRole('button', { name: 'Admin console' }).count(), 0);
    await member.context.close();
  });

  it('someone deactivated while signed in is sent back to the sign-in page, told why', async () => {
    const erin = await server.createUser('erin@sotong.test', 'Erin');
    const { context, page } = await newPage(browser);
    await signIn(page, server.httpUrl, erin.email, TEST_PASSWORD);
    const token = await server.login(server.admin.email, server.admin.password);
    await server.request('POST', `/api/v1/admin/users/${erin.id}/deactivate`, {}, token);
    await page.getByRole('status').filter({ hasText: 'Your session has ended. Sign in again.' }).waitFor();
    await page.locator('input[type=password]').waitFor();
    await context.close();
  });

  it('the dark theme is kept across visits', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, server.httpUrl, bob.email, TEST_PASSWORD);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Theme').selectOption('dark');
    assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, 'rgb(26, 29, 33)');
    await page.reload();
    assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
    await context.close();
  });
});
