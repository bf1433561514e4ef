import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SotongError } from '@sotong/protocol';
import { SotongClient } from '../src/client.js';
import { exchangeSsoCode, login, webSocketUrl } from '../src/http.js';
import { alice } from './fixtures.js';

const device = { name: 'test', platform: 'node', publicKey: 'A'.repeat(43) };
const granted = { token: 't1', expiresAt: Date.now() + 900_000, user: alice, device: { deviceId: 'd1', credential: 'dc_1', expiresAt: Date.now() + 86_400_000 } };

function fakeFetch(status: number, body: unknown, seen: { url?: string; init?: RequestInit } = {}): typeof fetch {
  return async (url, init) => {
    seen.url = String(url);
    seen.init = init ?? {};
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
}

test('the WebSocket URL follows the HTTP base', () => {
  assert.equal(webSocketUrl('http://localhost:8080'), 'ws://localhost:8080/ws');
  assert.equal(webSocketUrl('https://chat.example.com/sotong/'), 'wss://chat.example.com/sotong/ws');
});

test('login posts the credentials and the device, and returns the session', async () => {
  const seen: { url?: string; init?: RequestInit } = {};
  const result = await login('http://localhost:8080/', 'alice@example.com', 'pw', device, fakeFetch(200, granted, seen));
  assert.deepEqual(result, granted);
  assert.equal(seen.url, 'http://localhost:8080/api/v1/auth/login');
  assert.equal(seen.init?.method, 'POST');
  assert.deepEqual(JSON.parse(String(seen.init?.body)), { email: 'alice@example.com', password: 'pw', device });
});

test('a refused login is a SotongError with the server code', async () => {
  const refused = login('http://h', 'a@b.c', 'wrong', device, fakeFetch(401, { code: 'unauthenticated', message: 'wrong email or password' }));
  await assert.rejects(refused, (error: SotongError) => error instanceof SotongError && error.code === 'unauthenticated' && error.message === 'wrong email or password');
  await assert.rejects(login('http://h', 'a@b.c', 'pw', device, fakeFetch(502, 'bad gateway')), (error: SotongError) => error.code === 'unavailable');
});

test('an unreachable server is unavailable', async () => {
  const failing: typeof fetch = async () => {
    throw new TypeError('fetch failed');
  };
  await assert.rejects(login('http://h', 'a@b.c', 'pw', device, failing), (error: SotongError) => error.code === 'unavailable');
});

test('SotongClient.login returns a client for the signed-in user', async () => {
  const client = await SotongClient.login('http://localhost:9', 'alice@example.com', 'pw', { fetch: fakeFetch(200, granted) });
  assert.equal(client.user?.id, alice.id);
  assert.equal(client.getState().status.state, 'idle');
});

test('loginWithSsoCode trades the one-time code from the SSO redirect for a session of this device', async () => {
  const seen: { url?: string; init?: RequestInit } = {};
  const client = await SotongClient.loginWithSsoCode('https://chat.example.com', 'sso_abc', { fetch: fakeFetch(200, granted, seen), deviceName: 'laptop', platform: 'node' });
  assert.equal(client.user?.id, alice.id);
  assert.equal(client.session?.deviceId, 'd1');
  assert.equal(seen.url, 'https://chat.example.com/api/v1/auth/sso/exchange');
  const sent = JSON.parse(String(seen.init?.body)) as { code: string; device: { name: string; platform: string; publicKey: string } };
  assert.equal(sent.code, 'sso_abc');
  assert.equal(sent.device.name, 'laptop');
  assert.equal(sent.device.platform, 'node');
  assert.match(sent.device.publicKey, /^[A-Za-z0-9_-]{43}$/);
});

test('exchangeSsoCode reports a second step, and a spent code, as typed errors', async () => {
  const step = { mfa: 'enroll', challenge: 'ch_1', expiresAt: 1 };
  await assert.rejects(exchangeSsoCode('http://h', 'c', device, fakeFetch(200, step)), (error: SotongError) => error.code === 'unauthenticated' && (error.details as typeof step).challenge === 'ch_1');
  const spent = { code: 'unauthenticated', message: 'the sign-in code is unknown, used or expired; sign in again', details: { reason: 'bad_code' } };
  await assert.rejects(exchangeSsoCode('http://h', 'c', device, fakeFetch(401, spent)), (error: SotongError) => (error.details as { reason: string }).reason === 'bad_code');
});
