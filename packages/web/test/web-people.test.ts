import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { DirectorySyncResult } from '@sotong/protocol';
import { spawnServer, TEST_PASSWORD, type SpawnedServer } from '@sotong/server/testing';
import { companyEntries, directoryEnv } from '@sotong/server/test-support/directory-fixtures';
import { startSlapd, type Slapd } from '@sotong/server/test-support/slapd';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newPage, pageErrors, screenshot, signIn } from './support/browser.js';

const noSlapd = existsSync('/usr/sbin/slapd') ? false : 'needs OpenLDAP (apt-get install slapd ldap-utils) to seed the org chart by a directory sync';

/**
 * The people directory over an org chart seeded the way a company seeds it: a directory (LDAP)
 * sync of a small company with a development team, its platform part and a sales team.
 */
describe('web client: people directory and org chart', { skip: noSlapd }, () => {
  let slapd: Slapd;
  let server: SpawnedServer;
  let browser: Browser;
  let page: Page;

  before(async () => {
    slapd = await startSlapd({ entries: companyEntries() });
    server = await spawnServer({
      env: directoryEnv(slapd),
    });
    const synced = await server.request<DirectorySyncResult>('POST', '/api/v1/admin/directory/sync', {}, await server.adminToken());
    assert.deepEqual(synced.departments, { added: 3, updated: 0, removed: 0 });
    // A local account of the same workspace browses the chart.
    await server.createUser('alice@sotong.test', 'Alice');
    const token = await server.login('alice@sotong.test', TEST_PASSWORD);
    await server.request('POST', '/api/v1/channels', { name: 'general' }, token);
    browser = await launchBrowser();
    page = (await newPage(browser)).page;
    await signIn(page, server.httpUrl, 'alice@sotong.test', TEST_PASSWORD);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await slapd?.stop();
  });

  const dialog = () => page.getByRole('dialog', { name: 'People' });
  const tree = () => dialog().getByRole('tree', { name: 'Departments' });
  const item = (name: string) => tree().getByRole('treeitem', { name: new RegExp(`^${name}`) });
  const rows = () => dialog().getByTestId('people').locator('li');
  const hasFocus = (name: string) => item(name).evaluate((el) => el === document.activeElement);

  it('the department tree opens, closes and is walked with the keyboard', async () => {
    await page.getByRole('button', { name: 'People' }).click();
    await item('개발팀').waitFor();
    assert.equal(await tree().getByRole('treeitem').count(), 2, 'two top-level departments; the platform part is folded away');
    assert.equal(await item('개발팀').getAttribute('aria-expanded'), 'false');
    assert.equal(await item('영업팀').getAttribute('aria-expanded'), null, 'a leaf has no expanded state');
    assert.deepEqual(await tree().getByRole('treeitem').evaluateAll((els) => els.map((e) => (e as HTMLElement).tabIndex)), [0, -1], 'one tab stop');

    await item('개발팀').focus();
    await page.keyboard.press('ArrowRight');
    await item('플랫폼파트').waitFor();
    assert.equal(await item('개발팀').getAttribute('aria-expanded'), 'true');
    assert.equal(await item('플랫폼파트').getAttribute('aria-level'), '2');
    await page.keyboard.press('ArrowDown');
    assert.ok(await hasFocus('플랫폼파트'));
    await page.keyboard.press('Enter');
    assert.equal(await item('플랫폼파트').getAttribute('aria-selected'), 'true');
    await rows().filter({ hasText: '이지수' }).filter({ hasText: '연구원' }).waitFor();
    assert.equal(await rows().count(), 1);

    await page.keyboard.press('ArrowLeft');
    assert.ok(await hasFocus('개발팀'), '← on a leaf goes to its parent');
    await page.keyboard.press('ArrowLeft');
    await item('플랫폼파트').waitFor({ state: 'detached' });
    await page.keyboard.press('End');
    assert.ok(await hasFocus('영업팀'));
    await page.keyboard.press(' ');
    await rows().filter({ hasText: '최하나' }).waitFor();
    assert.deepEqual(await dialog().getByTestId('person-title').allInnerTexts(), ['Account Manager', '과장']);
  });

  it("a department lists its people with title and presence; a profile shows path, manager and how to reach them", async () => {
    await item('개발팀').click();
    const minsu = rows().filter({ hasText: '김민수' });
    await minsu.waitFor();
    assert.equal(await minsu.getByTestId('person-title').innerText(), '선임연구원');
    assert.equal(await minsu.getByRole('img', { name: 'Offline' }).count(), 1, 'a presence dot with a name');

    await minsu.getByRole('button', { name: 'Profile of 김민수' }).click();
    const card = dialog().getByTestId('profile-card');
    await card.getByRole('heading', { name: '김민수' }).waitFor();
    assert.equal(await card.getByTestId('profile-title').innerText(), '선임연구원');
    assert.equal(await card.getByTestId('profile-path').innerText(), '개발팀');
    assert.equal(await card.getByTestId('profile-manager').innerText(), '박지영');
    assert.equal(await card.getByRole('link', { name: 'minsu@sotong.test' }).getAttribute('href'), 'mailto:minsu@sotong.test');
    assert.equal(await card.getByRole('link', { name: '+82 2 555 1001' }).getAttribute('href'), 'tel:+8225551001');

    await card.getByTestId('profile-manager').getByRole('button').click();
    await card.getByRole('heading', { name: '박지영' }).waitFor();
    assert.equal(await card.getByTestId('profile-title').innerText(), '대표이사');
    await screenshot(page, 'people-directory');
  });

  it('finds people by one syllable of a Korean name, and the profile opens the DM', async () => {
    await dialog().getByLabel('Search by name or email').fill('김');
    // The server's answer carries titles; names that only contain 김 elsewhere do not match.
    await rows().getByTestId('person-title').filter({ hasText: '선임연구원' }).waitFor();
    assert.deepEqual(await rows().locator('.person-name').allInnerTexts(), ['김민수']);
    await dialog().getByLabel('Search by name or email').fill('jisoo');
    await rows().filter({ hasText: '이지수' }).getByTestId('person-title').waitFor();
    await rows().filter({ hasText: '이지수' }).getByRole('button', { name: 'Profile of 이지수' }).click();
    const card = dialog().getByTestId('profile-card');
    assert.equal(await card.getByTestId('profile-path').innerText(), '개발팀 › 플랫폼파트');
    await card.getByRole('button', { name: 'Send a message' }).click();
    await dialog().waitFor({ state: 'detached' });
    await page.locator('#channel-title', { hasText: '이지수' }).waitFor();
    await page.locator('#composer-input').fill('안녕하세요');
    await page.locator('#composer-input').press('Enter');
    await page.locator('.message-list [data-testid=message]', { hasText: '안녕하세요' }).waitFor();
    assert.deepEqual(pageErrors(page), []);
  });

  it('a guest, who may not browse the org chart, gets no tree and still finds people they can see', async () => {
    await server.createUser('guest@sotong.test', 'Guest', TEST_PASSWORD, 'guest');
    const { context, page: guest } = await newPage(browser);
    await signIn(guest, server.httpUrl, 'guest@sotong.test', TEST_PASSWORD);
    await guest.getByRole('button', { name: 'People' }).click();
    const people = guest.getByRole('dialog', { name: 'People' });
    await people.getByRole('button', { name: 'Everyone' }).waitFor();
    await people.getByTestId('people').waitFor();
    assert.equal(await people.getByRole('tree').count(), 0);
    await people.getByLabel('Search by name or email').fill('guest@');
    await people.getByTestId('people').locator('li', { hasText: 'Guest' }).waitFor();
    assert.deepEqual(pageErrors(guest), []);
    await context.close();
  });

  it('speaks Korean', async () => {
    const { context, page: ko } = await newPage(browser, 'ko-KR');
    await signIn(ko, server.httpUrl, 'alice@sotong.test', TEST_PASSWORD);
    await ko.getByRole('button', { name: '구성원' }).click();
    const people = ko.getByRole('dialog', { name: '구성원' });
    await people.getByRole('tree', { name: '부서' }).getByRole('treeitem', { name: /^개발팀/ }).click();
    await people.getByRole('button', { name: '김민수님의 프로필' }).click();
    await people.getByTestId('profile-card').getByRole('button', { name: '메시지 보내기' }).waitFor();
    assert.equal(await people.getByTestId('profile-card').locator('dt').first().innerText(), '직함');
    await context.close();
  });
});
