import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, normalize, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { spawnServer, type SpawnedServer } from '@sotong/server/testing';
import type { Device } from '@sotong/protocol';

const CHROMIUM = process.env.SOTONG_TEST_CHROMIUM ?? '/usr/bin/chromium';
const PASSWORD = 'a password for the browser device test';
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** What the page may load: the compiled SDK and protocol, zod, and the WebAuthn helper. */
const SERVED = ['packages/sdk/dist/src/', 'packages/protocol/dist/src/', 'node_modules/zod/', 'node_modules/@simplewebauthn/browser/esm/'];

// The SDK's ES modules as they are, with an import map for the two bare names they use.
const PAGE = `<!doctype html><meta charset="utf-8"><title>sotong device test</title>
<script type="importmap">${JSON.stringify({ imports: { zod: '/node_modules/zod/index.js', '@sotong/protocol': '/packages/protocol/dist/src/index.js', '@simplewebauthn/browser': '/node_modules/@simplewebauthn/browser/esm/index.js' } })}</script>`;

function staticServer(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^[/\\]+/, '');
    if (path === '' || path === 'index.html') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (!SERVED.some((prefix) => path.startsWith(prefix)) || path.split(sep).includes('..')) return void res.writeHead(404).end();
    readFile(`${ROOT}${path}`).then(
      (body) => res.writeHead(200, { 'content-type': extname(path) === '.js' ? 'text/javascript' : 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const skip = existsSync(CHROMIUM) || process.env.CI ? false : `needs Chromium at ${CHROMIUM}`;

describe('the SDK in a real browser: a non-extractable device key in IndexedDB', { skip }, () => {
  let server: SpawnedServer;
  let pages: Server;
  let browser: Browser;

  before(async () => {
    server = await spawnServer();
    pages = await staticServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // The page and the Sotong server are two origins here; the server has no CORS of its own.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-web-security'],
    });
  });
  after(async () => {
    await browser?.close();
    pages?.close();
    await server?.stop();
  });

  it('signs in, connects and calls REST with a key that cannot be exported, and comes back after a reload with no password', async () => {
    const email = `browser-${Date.now()}@sotong.test`;
    const user = await server.createUser(email, 'Browser User', PASSWORD);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`http://127.0.0.1:${(pages.address() as AddressInfo).port}/`);

    const first = await page.evaluate(
      async ({ httpUrl, email, password }) => {
        const sdk = await import('/packages/sdk/dist/src/index.js' as string);
        const device = await sdk.WebCryptoDeviceKey.persistent();
        const client = await sdk.SotongClient.login(httpUrl, email, password, { device, storage: localStorage, deviceName: 'Chromium' });
        const session = await client.connect();
        const files = new sdk.FileClient({ httpBase: httpUrl, credentials: client.session });
        const refused = await files.download('f_none').then(
          () => 'downloaded',
          (error: { code: string }) => error.code,
        );
        const pair = (await new sdk.IndexedDbKeyStore().load()) as CryptoKeyPair;
        const exported = await crypto.subtle.exportKey('pkcs8', pair.privateKey).then(
          () => 'exported',
          (error: Error) => error.name,
        );
        await client.close();
        return { userId: session.user.id, publicKey: device.publicKey, deviceId: client.session.deviceId, refused, extractable: pair.privateKey.extractable, exported };
      },
      { httpUrl: server.httpUrl, email, password: PASSWORD },
    );
    assert.equal(first.userId, user.id);
    assert.equal(first.refused, 'not_found', 'a signed REST call got through to the permission check');
    assert.equal(first.extractable, false);
    assert.equal(first.exported, 'InvalidAccessError');

    await page.reload();
    const second = await page.evaluate(async ({ httpUrl }) => {
      const sdk = await import('/packages/sdk/dist/src/index.js' as string);
      const device = await sdk.WebCryptoDeviceKey.persistent();
      const client = await sdk.SotongClient.resume(httpUrl, { device, storage: localStorage });
      if (!client) return null;
      const session = await client.connect();
      await client.close();
      return { userId: session.user.id, publicKey: device.publicKey, deviceId: client.session.deviceId };
    }, { httpUrl: server.httpUrl });
    assert.deepEqual(second, { userId: user.id, publicKey: first.publicKey, deviceId: first.deviceId });

    const { devices } = await server.request<{ devices: Device[] }>('GET', `/api/v1/admin/users/${user.id}/devices`, undefined, await server.adminToken());
    assert.deepEqual(devices.map((d) => [d.id, d.name, d.publicKey, d.status]), [[first.deviceId, 'Chromium', first.publicKey, 'active']]);
    assert.match(devices[0]!.platform, /Chrom|Mozilla/);
  });
});
