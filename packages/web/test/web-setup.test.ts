import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawnServer, type SpawnedServer } from '@sotong/server/testing';
import type { Browser } from 'playwright-core';
import { launchBrowser, newPage, pageErrors, screenshot } from './support/browser.js';

/** The set-up link the first run prints on stderr, which may land a moment after the "listening" log line. */
async function printedSetupLink(server: SpawnedServer): Promise<string> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const link = /finish setting up in the browser[^:]*: (\S+)/.exec(server.output())?.[1];
    if (link) return link;
  }
  throw new Error(`no set-up link in:\n${server.output()}`);
}

describe('web client: first-run set-up of a fresh server', () => {
  let server: SpawnedServer;
  let browser: Browser;
  let link: string;

  before(async () => {
    // No configured admin password: the server makes a one-time one and prints it with the set-up link.
    server = await spawnServer({ env: { SOTONG_ADMIN_PASSWORD: '' } });
    link = await printedSetupLink(server);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('offers the set-up on the sign-in screen while the server is new, and asks for the printed code there (Korean)', async () => {
    const { context, page } = await newPage(browser, 'ko-KR');
    await page.goto(server.httpUrl);
    await page.getByRole('heading', { name: '소통에 로그인' }).waitFor();
    await page.getByRole('button', { name: '서버를 처음 시작했나요? 워크스페이스 설정하기' }).click();
    await page.getByRole('heading', { name: '워크스페이스 설정' }).waitFor();
    await page.getByLabel('일회용 코드').fill('not-what-the-server-printed');
    await page.getByLabel('내 이름').fill('김관리');
    await page.getByLabel('새 비밀번호', { exact: true }).fill('a harbour of our very own 2026');
    await page.getByLabel('새 비밀번호 확인').fill('a harbour of our very own 2026');
    await page.getByRole('button', { name: '설정 완료' }).click();
    await page.getByRole('alert').filter({ hasText: '이 서버가 출력한 일회용 코드가 아닙니다.' }).waitFor();
    await screenshot(page, 'setup-ko');
    await page.getByRole('button', { name: '로그인으로 이동' }).click();
    await page.getByRole('heading', { name: '소통에 로그인' }).waitFor();
    await context.close();
  });

  it('the printed link lets the owner name the workspace, choose a password and land in it; then it is spent', async () => {
    const { context, page } = await newPage(browser);
    await page.goto(link);
    await page.getByRole('heading', { name: 'Set up your workspace' }).waitFor();
    assert.equal(new URL(page.url()).hash, '', 'the one-time code is out of the address bar');
    assert.equal(await page.getByLabel('One-time code').count(), 0, 'the link brought the code');
    const workspace = page.getByLabel('Workspace name');
    assert.equal(await workspace.inputValue(), 'Sotong');
    // Keyboard only: the workspace name has the focus; Tab walks the form.
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('한빛 상사');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Kim Admin');
    await page.keyboard.press('Tab');
    await page.keyboard.type('a harbour of our very own 2026');
    await page.keyboard.press('Tab');
    await page.keyboard.type('a harbour of our very own 2025');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'The two passwords differ.' }).waitFor();
    await page.getByLabel('The new password again').fill('a harbour of our very own 2026');
    await screenshot(page, 'setup');
    await page.getByRole('button', { name: 'Finish set-up' }).click();
    await page.locator('nav.sidebar').waitFor();
    assert.equal(await page.locator('.sidebar-header .me').innerText(), 'Kim Admin');
    assert.equal(await page.getByRole('button', { name: 'Admin console' }).count(), 1, 'the owner administers the workspace');
    assert.deepEqual(await (await fetch(`${server.httpUrl}/api/v1/setup`)).json(), { open: false, workspaceName: '한빛 상사' });
    await page.reload();
    await page.locator('nav.sidebar').waitFor();
    assert.deepEqual(pageErrors(page), []);
    await context.close();

    // Spent: the link shows that the workspace is set up, and the sign-in screen no longer offers it.
    const again = await newPage(browser);
    await again.page.goto(link);
    await again.page.getByText('This workspace is set up already. Sign in instead.').waitFor();
    assert.equal(await again.page.getByRole('button', { name: 'Finish set-up' }).count(), 0);
    await again.page.getByRole('button', { name: 'Go to sign-in' }).click();
    await again.page.getByRole('heading', { name: 'Sign in to Sotong' }).waitFor();
    assert.equal(await again.page.getByRole('button', { name: /Set up the workspace/ }).count(), 0);
    await again.context.close();
  });
});
