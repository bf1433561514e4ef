import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { User } from '@sotong/protocol';
import { spawnServer, TEST_PASSWORD, type SpawnedServer } from '@sotong/server/testing';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, messages, newPage, openChannel, post, screenshot, signIn } from './support/browser.js';

const COUNT = 130;
const label = (i: number) => `History line ${String(i).padStart(3, '0')}`;

describe('web client: long history', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let alice: User;
  let bob: User;

  const rows = (page: Page) => page.locator('.message-list [data-testid=message]');

  before(async () => {
    server = await spawnServer({ env: { SOTONG_MAX_MESSAGE_CHARS: '300' } });
    browser = await launchBrowser();
    alice = await server.createUser('alice@sotong.test', 'Alice');
    bob = await server.createUser('bob@sotong.test', 'Bob');
    const token = await server.login(alice.email, TEST_PASSWORD);
    const channel = await server.request<{ id: string }>('POST', '/api/v1/channels', { name: 'history', memberIds: [bob.id] }, token);
    for (let i = 1; i <= COUNT; i++) {
      await server.request('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: `h${i}`, text: label(i) }, token);
    }
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('opens on the newest page and loads older pages while scrolling up, keeping the place', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, server.httpUrl, alice.email, TEST_PASSWORD);
    await openChannel(page, 'history');
    await messages(page, label(COUNT)).waitFor();
    const list = page.locator('.message-list');
    assert.equal(await list.getAttribute('data-loaded'), '50');
    assert.ok(await messages(page, label(COUNT)).isVisible());
    // Edging up from the bottom a little (an arrow key's worth) is not undone.
    const edged = await list.evaluate(async (el) => {
      el.scrollTop = el.scrollHeight - el.clientHeight - 30;
      await new Promise((resolve) => setTimeout(resolve, 300));
      return el.scrollHeight - el.clientHeight - el.scrollTop;
    });
    assert.ok(Math.abs(edged - 30) <= 1, `stayed 30 px above the bottom, is ${edged}`);

    const anchor = messages(page, label(COUNT - 49));
    await list.evaluate((el) => (el.scrollTop = 0));
    await messages(page, label(COUNT - 50)).waitFor({ state: 'attached' });
    // The line that was at the top is still on screen: the page came in above it.
    await page.waitForTimeout(100);
    assert.ok(await anchor.isVisible(), 'reading position kept after loading older messages');
    for (let i = 0; i < 5 && !(await page.locator('.start').count()); i++) {
      await list.evaluate((el) => (el.scrollTop = 0));
      await page.waitForTimeout(300);
    }
    await page.locator('.start').waitFor();
    assert.equal(await list.getAttribute('data-loaded'), String(COUNT));
    assert.equal(await messages(page, label(1)).count(), 1);
    // Windowed: of the 130 loaded messages only those near the viewport are in the DOM.
    const rendered = await rows(page).count();
    assert.ok(rendered > 5 && rendered < 60, `${rendered} rows rendered`);
    assert.equal(await messages(page, label(COUNT)).count(), 0);
    await context.close();
  });

  it('jumps to the first unread message across pages not loaded yet', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, server.httpUrl, bob.email, TEST_PASSWORD);
    assert.equal(await page.locator('nav.sidebar button[data-channel="history"] [data-testid=unread-badge]').innerText(), String(COUNT));
    await openChannel(page, 'history');
    const jump = page.getByTestId('jump-unread');
    await jump.waitFor();
    await jump.click();
    await page.locator('.unread-divider').waitFor();
    await messages(page, label(1)).waitFor();
    assert.ok(await page.locator('.unread-divider').isVisible());
    await screenshot(page, 'jump-to-unread');
    await context.close();
  });

  it('a message the server refuses shows as not sent, with retry and discard', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, server.httpUrl, bob.email, TEST_PASSWORD);
    await openChannel(page, 'history');
    await post(page, `too long ${'가'.repeat(400)}`);
    const failed = page.locator('[data-testid=pending-message][data-status=failed]');
    await failed.waitFor();
    await failed.getByRole('button', { name: 'Retry' }).waitFor();
    await failed.getByRole('button', { name: 'Discard' }).click();
    await failed.waitFor({ state: 'detached' });
    await post(page, 'short and fine');
    await messages(page, 'short and fine').waitFor();
    await context.close();
  });
});
