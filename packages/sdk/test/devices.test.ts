import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { spawnServer, TestDevice, type SpawnedServer } from '@sotong/server/testing';
import { SotongError, type ChannelEvent, type ClientFrame, type Device } from '@sotong/protocol';
import { FileClient, MemoryStorage, SotongClient, WebCryptoDeviceKey } from '../src/index.js';
import { NodeDeviceKey } from '../src/node.js';
import { SocketControl } from './controlled-socket.js';
import { waitFor } from './fixtures.js';

const PASSWORD = 'a password for the sdk device tests';
const TTL_SECONDS = 2;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const reasonOf = (error: unknown) => (error instanceof SotongError ? (error.details as { reason?: string } | undefined)?.reason : undefined);

describe('SDK device sessions against the real server', () => {
  let server: SpawnedServer;
  const open: SotongClient[] = [];

  async function account(name: string): Promise<{ id: string; email: string }> {
    const email = `${name}-${Math.random().toString(36).slice(2, 8)}@sotong.test`;
    return { id: (await server.createUser(email, name, PASSWORD)).id, email };
  }

  before(async () => {
    // Access tokens live two seconds here, so renewal happens within a test.
    server = await spawnServer({ env: { SOTONG_ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) } });
  });
  after(async () => {
    for (const client of open) await client.close();
    await server?.stop();
  });

  it('renews the short-lived access token by itself, and reconnects with a fresh one, resuming by cursors', async () => {
    const me = await account('renewer');
    let renewals = 0;
    const counting: typeof fetch = (input, init) => {
      if (String(input).endsWith('/api/v1/auth/refresh')) renewals++;
      return fetch(input, init);
    };
    const control = new SocketControl();
    const client = await SotongClient.login(server.httpUrl, me.email, PASSWORD, { WebSocket: control.WebSocket, fetch: counting, reconnect: { baseMs: 20, maxMs: 100 } });
    open.push(client);
    const events: ChannelEvent[] = [];
    client.on('event', (event) => events.push(event));
    await client.connect();
    const channel = await client.call('channel.create', { name: `renew-${Date.now()}` });
    await client.send(channel.id, 'before');

    // Outlive the first token: the session renews it in the background, with no sign-in.
    await sleep(TTL_SECONDS * 1000 + 500);
    assert.ok(renewals >= 1, `renewed ${renewals} times`);
    const files = new FileClient({ httpBase: server.httpUrl, credentials: client.session! });
    await assert.rejects(files.download('f_none'), (error: SotongError) => error.code === 'not_found', 'REST calls are signed with the renewed token');

    control.kill();
    const other = await server.login(me.email, PASSWORD);
    await server.request('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: 'while-away', text: 'while away' }, other);
    await waitFor(() => events.some((e) => e.type === 'message.posted' && e.message.text === 'while away'), 'the message sent while away', 10_000);

    const auths = control.sent.filter((f): f is Extract<ClientFrame, { t: 'auth' }> => f.t === 'auth');
    assert.ok(auths.length >= 2);
    assert.ok(auths.every((a) => a.proof), 'every connection carries a device proof');
    assert.notEqual(auths.at(-1)!.token, auths[0]!.token, 'the reconnect used a renewed token');
    assert.ok(auths.at(-1)!.cursors?.[channel.id]! >= 1, 'and resumed from its cursor');
  });

  it('a revoked device is closed at once and its client stops for good with device_revoked', async () => {
    const me = await account('revoked');
    const client = await SotongClient.login(server.httpUrl, me.email, PASSWORD, { WebSocket, reconnect: { baseMs: 20, maxMs: 100 } });
    open.push(client);
    await client.connect();
    await server.request('DELETE', `/api/v1/devices/${client.session!.deviceId}`, undefined, await server.adminToken());
    await waitFor(() => client.getState().status.state === 'closed', 'the client to stop');
    const status = client.getState().status;
    assert.equal(status.state === 'closed' ? reasonOf(status.error) : undefined, 'device_revoked');
    await assert.rejects(client.connect(), (error: unknown) => reasonOf(error) === 'device_revoked');
  });

  it('with approval required, the new device connects once approved from another device of the user', async () => {
    const me = await account('approval');
    const first = await SotongClient.login(server.httpUrl, me.email, PASSWORD, { WebSocket, deviceName: 'old laptop' });
    open.push(first);
    await first.connect();
    await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: true }, await server.adminToken());
    try {
      const second = await SotongClient.login(server.httpUrl, me.email, PASSWORD, { WebSocket, deviceName: 'new phone', platform: 'test' });
      open.push(second);
      await assert.rejects(second.connect(), (error: unknown) => reasonOf(error) === 'device_pending');
      // The existing device sees the new one and approves it (over REST, signed by its own key).
      const url = `${server.httpUrl}/api/v1/devices/${second.session!.deviceId}/approve`;
      const approved = await fetch(url, { method: 'POST', headers: await first.session!.httpHeaders('POST', url) });
      assert.equal(((await approved.json()) as Device).status, 'active');
      const session = await second.connect();
      assert.equal(session.user.id, me.id);
    } finally {
      await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: false }, await server.adminToken());
    }
  });

  it('always-on: a device key in a file and its stored credential bring the client back with no sign-in', async () => {
    const me = await account('always-on');
    const keyFile = join(mkdtempSync(join(tmpdir(), 'sotong-key-')), 'device.pem');
    const storage = new MemoryStorage();
    const key = await NodeDeviceKey.fromFile(keyFile);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const first = await SotongClient.login(server.httpUrl, me.email, PASSWORD, { WebSocket, device: key, storage });
    await first.connect();
    await first.close();

    // The next run: the same key from the file, the credential from storage.
    const again = await NodeDeviceKey.fromFile(keyFile);
    assert.equal(again.publicKey, key.publicKey);
    const resumed = await SotongClient.resume(server.httpUrl, { WebSocket, device: again, storage });
    assert.ok(resumed);
    open.push(resumed);
    assert.equal((await resumed.connect()).user.id, me.id);
    assert.equal(resumed.session!.deviceId, first.session!.deviceId, 'the same device');
    assert.equal(await SotongClient.resume(server.httpUrl, { WebSocket, device: NodeDeviceKey.generate(), storage }), null, 'another key has no credential here');
  });
});

describe('device keys', () => {
  it('a WebCrypto key signs what node:crypto verifies, and every implementation makes the same kind of key', async () => {
    const key = await WebCryptoDeviceKey.generate();
    const message = new TextEncoder().encode('sotong');
    const signature = await key.sign(message);
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.publicKey }, format: 'jwk' });
    assert.ok(verify(null, message, publicKey, signature));
    assert.equal(signature.length, 64);
    // Both implementations make the same kind of key.
    assert.equal(NodeDeviceKey.generate().publicKey.length, key.publicKey.length);
    assert.equal(TestDevice.generate().publicKey.length, key.publicKey.length);
  });
});
