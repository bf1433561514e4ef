import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, FileInfo, User } from '@sotong/protocol';
import { authHeaders, spawnServer, TEST_PASSWORD, type SpawnedServer } from '@sotong/server/testing';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, messages, newPage, openChannel, pageErrors, screenshot, signIn } from './support/browser.js';

/** Uploads through the REST API and sends the file in a message, as another client would. */
async function share(server: SpawnedServer, token: string, channelId: string, name: string, bytes: Buffer<ArrayBuffer>): Promise<FileInfo> {
  const query = new URLSearchParams({ channelId, name });
  const path = `/api/v1/files?${query}`;
  const res = await fetch(`${server.httpUrl}${path}`, { method: 'POST', headers: { ...authHeaders(token, 'POST', path), 'content-type': 'application/octet-stream' }, body: bytes });
  assert.equal(res.status, 200, await res.clone().text());
  const file = (await res.json()) as FileInfo;
  await server.request('POST', `/api/v1/channels/${channelId}/messages`, { clientMsgId: randomBytes(6).toString('hex'), text: '', fileIds: [file.id] }, token);
  return file;
}

/** The channel's file panel: what was shared, newest first, who shared it, and a download. */
describe('web client: files shared in a channel', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let page: Page;
  let bob: User;
  let bobToken: string;
  let general: ChannelView;
  let archive: ChannelView;

  before(async () => {
    server = await spawnServer();
    await server.createUser('alice@sotong.test', 'Alice');
    bob = await server.createUser('bob@sotong.test', 'Bob');
    const alice = await server.login('alice@sotong.test', TEST_PASSWORD);
    bobToken = await server.login(bob.email, TEST_PASSWORD);
    general = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'general', memberIds: [bob.id] }, alice);
    archive = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'archive', memberIds: [bob.id] }, alice);
    browser = await launchBrowser();
    page = (await newPage(browser)).page;
    await signIn(page, server.httpUrl, 'alice@sotong.test', TEST_PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const panel = () => page.getByRole('complementary', { name: 'Files' });
  const rows = () => panel().getByTestId('file-row');

  it('lists the files newest first with type, size, uploader and date, and downloads one', async () => {
    await openChannel(page, 'general');
    await share(server, bobToken, general.id, '회의록.txt', Buffer.from('안건: 파일 목록\n'));
    const png = await page.evaluate(() => {
      const canvas = document.createElement('canvas');
      canvas.width = 64;
      canvas.height = 48;
      canvas.getContext('2d')!.fillRect(0, 0, 64, 48);
      return canvas.toDataURL('image/png').split(',')[1]!;
    });
    await page.locator('.composer input[type=file]').first().setInputFiles({ name: 'chart.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
    await page.locator('#composer-input').fill('The chart');
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('.composer .primary')?.disabled);
    await page.locator('#composer-input').press('Enter');
    await messages(page, 'The chart').getByTestId('thumbnail').waitFor();

    await page.getByRole('button', { name: 'Files', exact: true }).click();
    await rows().nth(1).waitFor();
    assert.deepEqual(await rows().locator('.file-name').allInnerTexts(), ['chart.png', '회의록.txt']);
    const text = rows().nth(1);
    assert.match(await text.innerText(), new RegExp(`${Buffer.byteLength('안건: 파일 목록\n')} B · Bob · \\w{3} \\d+, \\d{4}`));
    assert.equal(await text.getByRole('img', { name: 'File' }).count(), 1, 'a type icon with a name');
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('img.file-thumb')?.naturalWidth ?? 0) > 0);
    assert.match(await rows().nth(0).innerText(), /Alice/);
    await screenshot(page, 'channel-files');

    const [download] = await Promise.all([page.waitForEvent('download'), text.getByRole('button', { name: 'Save 회의록.txt' }).click()]);
    assert.equal(download.suggestedFilename(), '회의록.txt');
    assert.equal(readFileSync((await download.path())!, 'utf8'), '안건: 파일 목록\n');

    // A file shared while the panel is open appears at the top.
    await share(server, bobToken, general.id, 'later.bin', randomBytes(2048));
    await rows().first().filter({ hasText: 'later.bin' }).waitFor();
    assert.match(await rows().first().innerText(), /2 KB · Bob/);
    assert.deepEqual(pageErrors(page), []);
  });

  it('pages through a long list', async () => {
    for (let i = 1; i <= 31; i++) await share(server, bobToken, archive.id, `report-${String(i).padStart(2, '0')}.bin`, randomBytes(16));
    await openChannel(page, 'archive');
    // Opening another channel closes the panel, as with the members and pins.
    await panel().waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Files', exact: true }).click();
    await rows().nth(29).waitFor();
    assert.equal(await rows().count(), 30);
    assert.equal(await rows().first().locator('.file-name').innerText(), 'report-31.bin');
    await panel().getByRole('button', { name: 'Show older files' }).click();
    await rows().nth(30).waitFor();
    assert.equal(await rows().last().locator('.file-name').innerText(), 'report-01.bin');
    assert.equal(await panel().getByRole('button', { name: 'Show older files' }).count(), 0);
  });
});
