import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { User } from '@sotong/protocol';
import { spawnServer, TEST_PASSWORD, type SpawnedServer } from '@sotong/server/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { networkCut, type NetworkCut } from './support/proxy.js';
import { launchBrowser, messages, newPage, openChannel, pageErrors, post, recordNotifications, screenshot, signIn } from './support/browser.js';

/** Two people, each in a browser context of their own, talking through the real server. */
describe('web client: messaging between two people', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let alice: User;
  let bob: User;
  let aliceTab: { context: BrowserContext; page: Page };
  let bobTab: { context: BrowserContext; page: Page };
  let a: Page;
  let b: Page;
  /** Bob reaches the server through a relay the test can cut. */
  let bobNet: NetworkCut;

  before(async () => {
    server = await spawnServer();
    browser = await launchBrowser();
    alice = await server.createUser('alice@sotong.test', 'Alice');
    bob = await server.createUser('bob@sotong.test', 'Bob');
    const token = await server.login(alice.email, TEST_PASSWORD);
    await server.request('POST', '/api/v1/channels', { name: 'general', memberIds: [bob.id] }, token);
    await server.request('POST', '/api/v1/channels', { name: 'random', memberIds: [bob.id] }, token);
    aliceTab = await newPage(browser);
    bobTab = await newPage(browser);
    a = aliceTab.page;
    b = bobTab.page;
    await recordNotifications(aliceTab.context);
    await signIn(a, server.httpUrl, alice.email, TEST_PASSWORD);
    bobNet = await networkCut(Number(new URL(server.httpUrl).port));
    await signIn(b, bobNet.url, bob.email, TEST_PASSWORD);
    await openChannel(a, 'general');
    await openChannel(b, 'general');
  });
  after(async () => {
    await browser?.close();
    await bobNet?.close();
    await server?.stop();
  });

  it('a message shows at once for the sender and arrives live for the other, exactly once', async () => {
    await post(a, 'Good morning, team');
    await messages(a, 'Good morning, team').waitFor();
    await messages(b, 'Good morning, team').waitFor();
    await post(a, 'Second line of the day');
    await messages(b, 'Second line of the day').waitFor();
    // Screen readers hear new messages from the announcer, not from rows the windowed list mounts.
    assert.equal(await b.getByTestId('announcer').innerText(), 'New message from Alice: Second line of the day');
    assert.equal(await b.locator('.message-list').getAttribute('aria-live'), 'off');
    assert.equal(await messages(a, 'Good morning, team').count(), 1);
    assert.equal(await messages(b, 'Good morning, team').count(), 1);
    assert.equal(await a.getByTestId('pending-message').count(), 0);
    await screenshot(b, 'channel');
  });

  it('Enter during Hangul composition finishes the syllable and does not send; Shift+Enter breaks the line', async () => {
    const box = a.locator('#composer-input');
    await box.click();
    const cdp = await aliceTab.context.newCDPSession(a);
    await cdp.send('Input.imeSetComposition', { text: '안', selectionStart: 1, selectionEnd: 1 });
    await cdp.send('Input.imeSetComposition', { text: '안녀', selectionStart: 2, selectionEnd: 2 });
    await a.keyboard.press('Enter');
    await cdp.send('Input.insertText', { text: '안녕' });
    // Nothing was sent: the box still holds the finished word (the emulated Enter may leave a line break).
    assert.match(await box.inputValue(), /^안녕\n?$/);
    assert.equal(await a.getByTestId('pending-message').count(), 0);
    assert.equal(await messages(a, '안녀').count(), 0);
    await box.fill('안녕');

    // The same with a synthetic composition: a keydown flagged isComposing must not send.
    await box.evaluate((el) => {
      el.dispatchEvent(new CompositionEvent('compositionstart', { bubbles: true, data: '' }));
      el.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', code: 'Enter', bubbles: true, cancelable: true, isComposing: true }));
      el.dispatchEvent(new CompositionEvent('compositionend', { bubbles: true, data: '녕' }));
    });
    assert.equal(await box.inputValue(), '안녕');
    await box.press('Shift+Enter');
    await box.pressSequentially('하세요');
    assert.equal(await box.inputValue(), '안녕\n하세요');
    await box.press('Enter');
    await messages(b, '안녕').waitFor();
    assert.equal(await box.inputValue(), '');
    assert.equal(await messages(b, '안녕').locator('br').count(), 1);
    await cdp.detach();
  });

  it('renders the markdown subset and never HTML from a message', async () => {
    await post(a, '<img src=x onerror="window.__pwned=1"> **bold** _soft_ `code` https://example.com/x?y=1');
    const message = messages(b, 'onerror');
    await message.waitFor();
    assert.equal(await message.locator('.body img').count(), 0);
    assert.match(await message.locator('.body').innerText(), /<img src=x onerror="window.__pwned=1">/);
    assert.equal(await message.locator('strong').innerText(), 'bold');
    assert.equal(await message.locator('em').innerText(), 'soft');
    assert.equal(await message.locator('code').innerText(), 'code');
    const link = message.locator('a');
    assert.equal(await link.getAttribute('href'), 'https://example.com/x?y=1');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await b.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    await post(a, '[click](javascript:alert(1))');
    await messages(b, 'click').waitFor();
    assert.equal(await messages(b, 'click').locator('a').count(), 0);
  });

  it('mentions pick a person from the list and reach them as a mention', async () => {
    const box = a.locator('#composer-input');
    await box.fill('Ping @Bo');
    await a.getByRole('option', { name: /Bob/ }).waitFor();
    await box.press('Enter');
    assert.equal(await box.inputValue(), 'Ping @Bob ');
    await box.pressSequentially('please look');
    await box.press('Enter');
    const message = messages(b, 'please look');
    await message.waitFor();
    assert.equal(await message.locator('.mention').innerText(), '@Bob');
  });

  it('reactions, thread replies, ↑ to edit the last message, and delete reach the other side', async () => {
    await post(a, 'Lunch at noon?');
    const lunch = messages(b, 'Lunch at noon?');
    await lunch.waitFor();
    await lunch.hover();
    await lunch.getByRole('button', { name: 'Add reaction' }).click();
    await lunch.getByRole('button', { name: '👍' }).click();
    await messages(a, 'Lunch at noon?').getByTestId('reaction').filter({ hasText: '👍 1' }).waitFor();

    await lunch.hover();
    await lunch.getByRole('button', { name: 'Reply in thread' }).click();
    const thread = b.getByTestId('thread-panel');
    await thread.locator('textarea').fill('Yes, see you there');
    await thread.locator('textarea').press('Enter');
    await thread.locator('[data-testid=message]', { hasText: 'Yes, see you there' }).waitFor();
    await messages(a, 'Lunch at noon?').getByRole('button', { name: '1 reply' }).click();
    await a.getByTestId('thread-panel').locator('[data-testid=message]', { hasText: 'Yes, see you there' }).waitFor();
    await screenshot(a, 'thread');
    await a.keyboard.press('Escape');
    await a.getByTestId('thread-panel').waitFor({ state: 'detached' });

    const box = a.locator('#composer-input');
    await box.click();
    await box.press('ArrowUp');
    const edit = a.getByTestId('edit-box');
    await edit.fill('Lunch at one?');
    await edit.press('Enter');
    await messages(b, 'Lunch at one?').locator('.edited').waitFor();

    a.once('dialog', (dialog) => void dialog.accept());
    const mine = messages(a, 'Lunch at one?');
    await mine.hover();
    await mine.getByRole('button', { name: 'Delete' }).click();
    await messages(b, 'Lunch at one?').waitFor({ state: 'detached' });
    assert.ok((await b.locator('.message.deleted').count()) >= 1);
  });

  it('badges count what is unread, and each message shows how many have not read it', async () => {
    await openChannel(b, 'random');
    await post(a, 'Unread for Bob');
    const badge = b.locator('nav.sidebar button[data-channel="general"] [data-testid=unread-badge]');
    await badge.filter({ hasText: '1' }).waitFor();
    const count = messages(a, 'Unread for Bob').getByTestId('read-count');
    await count.filter({ hasText: '1' }).waitFor();
    await post(a, 'Hey <@' + bob.id + '> this one is for you');
    await b.locator('nav.sidebar button[data-channel="general"] .badge.mention').filter({ hasText: '@1' }).waitFor();
    assert.match(await b.title(), /^\(\d+\) Sotong$/);
    await screenshot(b, 'sidebar-unread');

    await openChannel(b, 'general');
    await badge.waitFor({ state: 'detached' });
    await count.waitFor({ state: 'detached' });
    assert.equal(await b.title(), 'Sotong');
  });

  it('offline and back: messages sent meanwhile all arrive, none twice, and what was written offline is sent', async () => {
    bobNet.cut();
    await b.getByTestId('connection-banner').waitFor({ timeout: 60_000 });
    const token = await server.login(alice.email, TEST_PASSWORD);
    const general = (await server.request<{ channels: Array<{ id: string; name: string }> }>('GET', '/api/v1/channels', undefined, token)).channels.find((c) => c.name === 'general')!;
    for (let i = 1; i <= 3; i++) {
      await server.request('POST', `/api/v1/channels/${general.id}/messages`, { clientMsgId: `offline-${i}`, text: `While you were away ${i}` }, token);
    }
    await post(b, 'Written on the train');
    await b.getByTestId('pending-message').waitFor();
    bobNet.restore();
    await b.getByTestId('connection-banner').waitFor({ state: 'detached', timeout: 60_000 });
    for (let i = 1; i <= 3; i++) await messages(b, `While you were away ${i}`).waitFor();
    await messages(a, 'Written on the train').waitFor();
    for (let i = 1; i <= 3; i++) assert.equal(await messages(b, `While you were away ${i}`).count(), 1);
    assert.equal(await messages(b, 'Written on the train').count(), 1);
    await b.getByTestId('pending-message').waitFor({ state: 'detached' });
  });

  it('direct messages: start one, and the other sees it live in the sidebar', async () => {
    await a.getByRole('button', { name: 'New message' }).click();
    await a.getByRole('dialog').getByLabel(/Bob/).check();
    await a.getByRole('button', { name: 'Start conversation' }).click();
    await a.locator('#channel-title', { hasText: 'Bob' }).waitFor();
    await post(a, 'Just between us');
    const dm = b.locator('nav.sidebar .channel-item', { hasText: 'Alice' });
    await dm.locator('[data-testid=unread-badge]').waitFor();
    await dm.click();
    await messages(b, 'Just between us').waitFor();
    assert.deepEqual(pageErrors(a).filter((e) => !/net::ERR_|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_RESET|ERR_SOCKET_NOT_CONNECTED|WebSocket/.test(e)), []);
  });

  it('shows who is typing and who is online, and notifies of DMs and mentions while the tab is hidden', async () => {
    await b.locator('#composer-input').pressSequentially('thinking');
    await a.getByTestId('typing').filter({ hasText: 'Bob is typing…' }).waitFor();
    await b.locator('#composer-input').fill('');
    await b.locator('nav.sidebar .channel-item', { hasText: 'Alice' }).getByRole('img', { name: 'Online' }).waitFor();

    const notes = () => a.evaluate(() => (window as unknown as { __notes: Array<{ title: string; body?: string }> }).__notes);
    await a.evaluate(() => {
      (window as unknown as { __hidden: boolean }).__hidden = true;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await post(b, 'Are you there?');
    await a.waitForFunction(() => (window as unknown as { __notes: unknown[] }).__notes.length > 0);
    assert.deepEqual(await notes(), [{ title: 'Bob', body: 'Are you there?' }]);
    await openChannel(b, 'general');
    await post(b, 'Nothing for anyone in particular');
    await post(b, `<@${alice.id}> a question for you`);
    await a.waitForFunction(() => (window as unknown as { __notes: unknown[] }).__notes.length > 1);
    assert.deepEqual((await notes())[1], { title: 'Bob mentioned you in #general', body: '@Alice a question for you' });
    assert.equal((await notes()).length, 2);
    await a.evaluate(() => {
      (window as unknown as { __hidden: boolean }).__hidden = false;
      document.dispatchEvent(new Event('visibilitychange'));
    });
  });

  it('finds a Korean word inside a longer word, with the match highlighted', async () => {
    await openChannel(a, 'general');
    await openChannel(b, 'general');
    await post(a, '내일 회의록을 공유합니다');
    await messages(b, '회의록을').waitFor();
    await b.getByRole('button', { name: 'Search' }).click();
    await b.getByTestId('search-input').fill('회의');
    await b.getByTestId('search-input').press('Enter');
    const hit = b.getByTestId('search-hit').first();
    await hit.waitFor();
    assert.equal(await hit.locator('mark').first().innerText(), '회의');
    await screenshot(b, 'search');
  });

  it('an attached image uploads with progress and shows as a thumbnail on the other side', async () => {
    await openChannel(b, 'general');
    const png = await a.evaluate(() => {
      const canvas = document.createElement('canvas');
      canvas.width = 64;
      canvas.height = 48;
      const g = canvas.getContext('2d')!;
      g.fillStyle = '#2f6fed';
      g.fillRect(0, 0, 64, 48);
      return canvas.toDataURL('image/png').split(',')[1]!;
    });
    await a.locator('.composer input[type=file]').first().setInputFiles({ name: 'blue.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
    await a.getByTestId('upload').locator('progress').waitFor();
    await a.locator('#composer-input').fill('A picture');
    await a.waitForFunction(() => !document.querySelector<HTMLButtonElement>('.composer .primary')?.disabled);
    await a.locator('#composer-input').press('Enter');
    const thumb = messages(b, 'A picture').getByTestId('thumbnail');
    await thumb.waitFor();
    await b.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid=thumbnail]')?.naturalWidth ?? 0) > 0);
    // A short-lived signed link the <img> loads by itself: no bearer token, no blob copy.
    const src = (await thumb.getAttribute('src')) ?? '';
    assert.match(src, /\/api\/v1\/files\/[^/]+\/signed\?/);
    assert.equal((await fetch(src.replace(/([?&](?:sig|signature|s)=)[^&]+/, '$1AAAA'))).status >= 400, true);
    await screenshot(b, 'image');
  });

  it('pasted and dropped files upload too; audio plays inline and other files download', async () => {
    await openChannel(a, 'general');
    await openChannel(b, 'general');
    // A short WAV tone, built here: 8 kHz, 8-bit mono, 0.1 s.
    const samples = 800;
    const wav = Buffer.alloc(44 + samples);
    wav.write('RIFF', 0);
    wav.writeUInt32LE(36 + samples, 4);
    wav.write('WAVEfmt ', 8);
    wav.writeUInt32LE(16, 16);
    wav.writeUInt16LE(1, 20);
    wav.writeUInt16LE(1, 22);
    wav.writeUInt32LE(8000, 24);
    wav.writeUInt32LE(8000, 28);
    wav.writeUInt16LE(1, 32);
    wav.writeUInt16LE(8, 34);
    wav.write('data', 36);
    wav.writeUInt32LE(samples, 40);
    for (let i = 0; i < samples; i++) wav[44 + i] = 128 + Math.round(100 * Math.sin(i / 4));

    await a.locator('#composer-input').evaluate((el, bytes) => {
      const data = new DataTransfer();
      data.items.add(new File([new Uint8Array(bytes)], 'tone.wav', { type: 'audio/wav' }));
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    }, [...wav]);
    await a.locator('.composer').first().evaluate((el) => {
      const data = new DataTransfer();
      data.items.add(new File(['quarterly numbers\n1,2,3\n'], 'numbers.txt', { type: 'text/plain' }));
      el.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    assert.equal(await a.getByTestId('upload').count(), 2);
    await a.locator('#composer-input').fill('Sound and numbers');
    await a.waitForFunction(() => !document.querySelector<HTMLButtonElement>('.composer .primary')?.disabled);
    await a.locator('#composer-input').press('Enter');

    const message = messages(b, 'Sound and numbers');
    await message.waitFor();
    await message.getByRole('button', { name: /Play tone\.wav/ }).click();
    const audio = message.locator('audio');
    await audio.waitFor();
    // A signed link the player streams from by itself (range requests), not a blob copy.
    assert.match((await audio.getAttribute('src')) ?? '', /\/api\/v1\/files\/[^/]+\/signed\?.*sig=/);
    await b.waitForFunction(() => (document.querySelector<HTMLAudioElement>('audio')?.duration ?? 0) > 0);
    await message.getByRole('button', { name: /numbers\.txt/ }).click();
    const link = message.getByRole('link', { name: /Save numbers\.txt/ });
    await link.waitFor();
    const [download] = await Promise.all([b.waitForEvent('download'), link.click()]);
    assert.equal(download.suggestedFilename(), 'numbers.txt');
    assert.equal(readFileSync((await download.path())!, 'utf8'), 'quarterly numbers\n1,2,3\n');
  });

  it('Ctrl+K opens the quick switcher, typing and Enter open a channel, Esc closes dialogs; drafts stay per channel', async () => {
    await openChannel(b, 'general');
    await b.locator('#composer-input').fill('half a thought');
    await b.keyboard.press('Control+k');
    const dialog = b.getByRole('dialog', { name: 'Jump to a conversation' });
    await dialog.waitFor();
    await b.keyboard.type('rand');
    await b.keyboard.press('Enter');
    await b.locator('#channel-title', { hasText: 'random' }).waitFor();
    await b.keyboard.press('Control+k');
    await dialog.waitFor();
    await b.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await b.locator('#composer-input').inputValue(), '');
    await openChannel(b, 'general');
    assert.equal(await b.locator('#composer-input').inputValue(), 'half a thought');
    await b.locator('#composer-input').fill('');
    assert.deepEqual(pageErrors(b).filter((e) => !/net::ERR_|ERR_INTERNET_DISCONNECTED|ERR_CONNECTION_RESET|ERR_SOCKET_NOT_CONNECTED|WebSocket/.test(e)), []);
  });
  it('the people directory finds someone and opens a DM; the emoji picker puts emoji in a message', async () => {
    await a.getByRole('button', { name: 'People' }).click();
    const dialog = a.getByRole('dialog', { name: 'People' });
    await dialog.getByLabel('Search by name or email').fill('bob@');
    assert.equal(await dialog.getByTestId('people').locator('li').count(), 1);
    await dialog.getByRole('button', { name: 'Message' }).click();
    await a.locator('#channel-title', { hasText: 'Bob' }).waitFor();
    await a.locator('#composer-input').fill('Party time ');
    await a.getByRole('button', { name: 'Insert emoji' }).click();
    await a.getByRole('group', { name: 'Insert emoji' }).getByRole('button', { name: '🎉' }).click();
    assert.equal(await a.locator('#composer-input').inputValue(), 'Party time 🎉');
    await a.locator('#composer-input').press('Enter');
    await messages(a, 'Party time 🎉').waitFor();
  });
});
