import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnServer, TEST_PASSWORD, type SpawnedServer } from '@sotong/server/testing';
import type { Browser } from 'playwright-core';
import { launchBrowser, messages, newPage, openChannel, screenshot, signIn } from './support/browser.js';

/** A 2-second 64×48 VP8 WebM made by ffmpeg (the server needs ffmpeg for posters anyway). */
function makeVideo(): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'sotong-video-'));
  try {
    const path = join(dir, 'clip.webm');
    execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=duration=2:size=64x48:rate=10', '-c:v', 'libvpx', '-b:v', '100k', path]);
    return readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const noFfmpeg = spawnSync('ffmpeg', ['-version']).error ? 'needs ffmpeg (apt-get install ffmpeg; .ci/run installs it)' : false;

describe('web client: inline video by signed link', { skip: noFfmpeg }, () => {
  let server: SpawnedServer;
  let browser: Browser;

  before(async () => {
    server = await spawnServer();
    browser = await launchBrowser();
    await server.createUser('viewer@sotong.test', 'Viewer');
    const token = await server.login('viewer@sotong.test', TEST_PASSWORD);
    await server.request('POST', '/api/v1/channels', { name: 'general' }, token);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a video plays inline from a signed link and seeks with range requests', async () => {
    const { context, page } = await newPage(browser);
    await signIn(page, server.httpUrl, 'viewer@sotong.test', TEST_PASSWORD);
    await openChannel(page, 'general');
    await page.locator('.composer input[type=file]').first().setInputFiles({ name: 'clip.webm', mimeType: 'video/webm', buffer: makeVideo() });
    await page.locator('#composer-input').fill('A clip');
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('.composer .primary')?.disabled);
    await page.locator('#composer-input').press('Enter');

    const ranges: string[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/signed?')) ranges.push(request.headers().range ?? '');
    });
    const message = messages(page, 'A clip');
    await message.getByRole('button', { name: /Play clip\.webm/ }).click();
    const video = message.locator('video');
    await video.waitFor();
    assert.match((await video.getAttribute('src')) ?? '', /\/api\/v1\/files\/[^/]+\/signed\?.*sig=/);
    await page.waitForFunction(() => (document.querySelector<HTMLVideoElement>('video')?.duration ?? 0) > 1.5);
    await page.evaluate(() => {
      const v = document.querySelector<HTMLVideoElement>('video')!;
      v.pause();
      v.currentTime = 1.5;
    });
    await page.waitForFunction(() => {
      const v = document.querySelector<HTMLVideoElement>('video')!;
      return !v.seeking && v.currentTime >= 1.4 && v.readyState >= 2;
    });
    // The player fetched by itself, with byte ranges, straight from the signed link.
    assert.ok(ranges.some((range) => /^bytes=\d+-/.test(range)), `ranges: ${JSON.stringify(ranges)}`);
    await screenshot(page, 'video');
    await context.close();
  });
});
