import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, NotificationPrefs, User } from '@sotong/protocol';
import { spawnServer, TEST_PASSWORD, type SpawnedServer } from '@sotong/server/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, messages, newPage, openChannel, pageErrors, recordNotifications, signIn } from './support/browser.js';

type Note = { title: string; body?: string };

/** Desktop notifications follow the person's preferences, which live on the server. */
describe('web client: notification preferences', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let alice: User;
  let aliceToken: string;
  let bobToken: string;
  let general: ChannelView;
  let random: ChannelView;

  before(async () => {
    server = await spawnServer();
    alice = await server.createUser('alice@sotong.test', 'Alice');
    const bob = await server.createUser('bob@sotong.test', 'Bob');
    aliceToken = await server.login(alice.email, TEST_PASSWORD);
    bobToken = await server.login(bob.email, TEST_PASSWORD);
    general = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'general', memberIds: [alice.id] }, bobToken);
    random = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'random', memberIds: [alice.id] }, bobToken);
    browser = await launchBrowser();
    ({ context, page } = await newPage(browser));
    await recordNotifications(context);
    await signIn(page, server.httpUrl, alice.email, TEST_PASSWORD);
    await openChannel(page, 'general');
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const notes = () => page.evaluate(() => (window as unknown as { __notes: Note[] }).__notes.splice(0));
  const hide = (hidden: boolean) =>
    page.evaluate((h) => {
      (window as unknown as { __hidden: boolean }).__hidden = h;
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
  const titleIs = (title: string) => page.waitForFunction((t) => document.title === t, title);
  /** Bob posts; the test waits until Alice's page has it, so any notification would have been raised. */
  async function bobSays(channel: ChannelView, text: string, seen: () => Promise<void>) {
    await server.request('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: randomBytes(6).toString('hex'), text }, bobToken);
    await seen();
  }
  const inOpenChannel = (text: string) => () => messages(page, text).waitFor();
  const savedPrefs = () => server.request<NotificationPrefs>('GET', '/api/v1/me/notifications', undefined, aliceToken);
  /** The page shows a choice at once and saves it on its way: wait (up to 5 s) for the server to hold it. */
  async function saved(holds: (prefs: NotificationPrefs) => boolean, what: string) {
    for (let tries = 0; !holds(await savedPrefs()); tries++) {
      assert.ok(tries < 50, `${what} reached the server`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function chooseLevel(label: string, level: NotificationPrefs['desktop']) {
    await page.getByRole('button', { name: 'Settings' }).click();
    const settings = page.getByRole('dialog', { name: 'Settings' });
    const group = settings.getByRole('group', { name: 'Notify me on the desktop about' });
    await group.getByRole('radio', { name: label }).check();
    await saved((prefs) => prefs.desktop === level, `the choice ${level}`);
    await settings.getByRole('button', { name: 'Close' }).click();
  }

  it('by default a mention notifies while the tab is hidden, a plain message does not', async () => {
    const group = async () => {
      await page.getByRole('button', { name: 'Settings' }).click();
      const checked = await page.getByRole('dialog', { name: 'Settings' }).getByRole('radio', { name: 'Mentions and direct messages' }).isChecked();
      await page.getByRole('button', { name: 'Close' }).click();
      return checked;
    };
    assert.equal(await group(), true, 'mentions and DMs is the default');
    await hide(true);
    await bobSays(general, `<@${alice.id}> can you check the build?`, inOpenChannel('can you check the build?'));
    assert.deepEqual(await notes(), [{ title: 'Bob mentioned you in #general', body: '@Alice can you check the build?' }]);
    await bobSays(general, 'lunch is here', inOpenChannel('lunch is here'));
    assert.deepEqual(await notes(), []);
    await hide(false);
  });

  it('with "Nothing" a mention raises no notification, on this device and after a reload', async () => {
    await chooseLevel('Nothing', 'none');
    await hide(true);
    await bobSays(general, `<@${alice.id}> are you there?`, inOpenChannel('are you there?'));
    assert.deepEqual(await notes(), []);
    await hide(false);

    await page.reload();
    await openChannel(page, 'general');
    await page.getByRole('button', { name: 'Settings' }).click();
    assert.equal(await page.getByRole('radio', { name: 'Nothing' }).isChecked(), true, 'kept on the server');
    await page.getByRole('button', { name: 'Close' }).click();
    await hide(true);
    await bobSays(general, `<@${alice.id}> still there?`, inOpenChannel('still there?'));
    assert.deepEqual(await notes(), []);
    await hide(false);
  });

  it('with "All" every message notifies; a muted channel shows no count and notifies only for mentions', async () => {
    await chooseLevel('All new messages', 'all');
    await hide(true);
    await bobSays(general, 'deploy finished', inOpenChannel('deploy finished'));
    assert.deepEqual(await notes(), [{ title: 'Bob in #general', body: 'deploy finished' }]);
    await hide(false);

    await openChannel(page, 'random');
    const mute = page.getByRole('button', { name: 'Mute', exact: true });
    await mute.click();
    await page.locator('.channel-tools button[aria-pressed=true]', { hasText: 'Mute' }).waitFor();
    await saved((prefs) => prefs.mutedChannelIds.length > 0, 'the mute');
    assert.deepEqual((await savedPrefs()).mutedChannelIds, [random.id]);
    await openChannel(page, 'general');

    const item = page.locator('nav.sidebar button[data-channel="random"]');
    await item.getByRole('img', { name: 'Muted' }).waitFor();
    await hide(true);
    // Events reach the page in order: once the next message in #general shows, the one in #random has arrived.
    await server.request('POST', `/api/v1/channels/${random.id}/messages`, { clientMsgId: randomBytes(6).toString('hex'), text: 'cat pictures' }, bobToken);
    await bobSays(general, 'after the cats', inOpenChannel('after the cats'));
    assert.deepEqual(await notes(), [{ title: 'Bob in #general', body: 'after the cats' }], 'nothing from the muted channel');
    await hide(false);
    // #general is read once the tab shows; the muted channel's unread message counts nowhere.
    await titleIs('Sotong');
    assert.equal(await item.getByTestId('unread-badge').count(), 0);
    assert.equal(await item.evaluate((el) => el.classList.contains('unread')), false);

    await hide(true);

    await bobSays(random, `<@${alice.id}> this one matters`, () => item.locator('.badge.mention').filter({ hasText: '@1' }).waitFor());
    assert.deepEqual(await notes(), [{ title: 'Bob mentioned you in #random', body: '@Alice this one matters' }]);
    await hide(false);
    await titleIs('(1) Sotong');
    assert.equal(await item.getByTestId('unread-badge').count(), 0);
    assert.deepEqual(pageErrors(page), []);
  });

  it("a change on one device shows on the person's other devices at once", async () => {
    const other = await newPage(browser);
    await signIn(other.page, server.httpUrl, alice.email, TEST_PASSWORD);
    const general = other.page.locator('nav.sidebar button[data-channel="general"]');
    await other.page.locator('nav.sidebar button[data-channel="random"]').getByRole('img', { name: 'Muted' }).waitFor();
    await openChannel(page, 'general');
    await page.getByRole('button', { name: 'Mute', exact: true }).click();
    await general.getByRole('img', { name: 'Muted' }).waitFor();
    await page.getByRole('button', { name: 'Mute', exact: true }).click();
    await general.getByRole('img', { name: 'Muted' }).waitFor({ state: 'detached' });
    await other.context.close();
  });
});
