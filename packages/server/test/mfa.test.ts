import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '@sotong/protocol';
import { totpCode } from '../src/auth/totp.js';
import { rememberDevice, TEST_PASSWORD, TestDevice } from '../src/testing.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

type Login = { token?: string; mfa?: 'totp' | 'enroll'; challenge?: string };
type HttpError = { status: number; body: { code: string; message: string } };

describe('two-factor sign-in (TOTP)', () => {
  let server: SpawnedServer;
  let adminToken: string;
  let alice: Person;
  let secret: string;

  const login = (who: Person) => server.request<Login>('POST', '/api/v1/auth/login', { email: who.user.email, password: TEST_PASSWORD });
  /** The step that ends in a session names the device it enrols; its token is remembered with the device. */
  const withDevice = async <T extends { token?: string }>(send: (device: TestDevice) => Promise<T>): Promise<T> => {
    const device = TestDevice.generate();
    const result = await send(device);
    if (result.token) rememberDevice(result.token, device);
    return result;
  };
  const codeStep = (challenge: string, code: string) =>
    withDevice((device) => server.request<Login>('POST', '/api/v1/auth/login/code', { challenge, code, device: device.enrolment() }));

  before(async () => {
    server = await spawnServer({ env: { SOTONG_LOGIN_MAX_FAILURES: '50' } });
    adminToken = await server.login(server.admin.email, server.admin.password);
    alice = await person(server, 'Alice');
  });
  after(() => server?.stop());

  it('enrols from a QR-code URI, confirmed by a code, and hands out ten recovery codes once', async () => {
    const setup = await server.request<{ secret: string; uri: string }>('POST', '/api/v1/auth/totp/setup', {}, alice.token);
    assert.match(setup.uri, /^otpauth:\/\/totp\/Sotong:.*secret=/);
    secret = setup.secret;
    await assert.rejects(server.request('POST', '/api/v1/auth/totp/confirm', { code: '000000' }, alice.token), { status: 400 });
    const confirmed = await server.request<{ recoveryCodes: string[] }>('POST', '/api/v1/auth/totp/confirm', { code: totpCode(secret, Date.now()) }, alice.token);
    assert.equal(confirmed.recoveryCodes.length, 10);
    assert.equal(new Set(confirmed.recoveryCodes).size, 10);
    (alice as Person & { recovery?: string[] }).recovery = confirmed.recoveryCodes;
  });

  it('a password alone no longer signs in; the code does, once', async () => {
    const first = await login(alice);
    assert.equal(first.token, undefined);
    assert.equal(first.mfa, 'totp');
    await assert.rejects(codeStep(first.challenge!, '123456'), (err: HttpError) => err.status === 401 && err.body.message === 'wrong code');
    // The code confirmed at enrolment is spent; the next period's code (one step of drift is allowed) works once.
    await assert.rejects(codeStep(first.challenge!, totpCode(secret, Date.now())), (err: HttpError) => /used already/.test(err.body.message));
    const next = totpCode(secret, Date.now() + 30_000);
    const granted = await codeStep(first.challenge!, next);
    assert.ok(granted.token);
    assert.ok(await server.request('GET', '/api/v1/me', undefined, granted.token));
    await assert.rejects(codeStep(first.challenge!, next), { status: 401 }, 'a challenge is used once');
    const again = await login(alice);
    await assert.rejects(codeStep(again.challenge!, next), (err: HttpError) => /used already/.test(err.body.message), 'a replayed code is refused');
  });

  it('a recovery code works once', async () => {
    const recovery = (alice as Person & { recovery?: string[] }).recovery!;
    const first = await login(alice);
    assert.ok((await codeStep(first.challenge!, recovery[0]!)).token);
    const second = await login(alice);
    await assert.rejects(codeStep(second.challenge!, recovery[0]!), { status: 401 });
    const events = (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=500', undefined, adminToken)).events;
    const mine = events.filter((e) => e.target === alice.user.email || e.target === alice.user.id).map((e) => `${e.action}:${String(e.details.reason ?? e.details.factor ?? '')}`);
    assert.ok(mine.includes('mfa.enabled:'));
    assert.ok(mine.includes('login.failed:wrong_totp'));
    assert.ok(mine.includes('login.failed:replayed_code'));
    assert.ok(mine.includes('login.succeeded:recovery_code'));
    assert.ok(mine.includes('login.failed:wrong_recovery_code'));
  });

  it('an admin can require two factors: the next sign-in enrols first', async () => {
    const bob = await person(server, 'Bob');
    await assert.rejects(server.request('PUT', '/api/v1/admin/policy', { mfaRequired: true }, bob.token), { status: 403 });
    await server.request('PUT', '/api/v1/admin/policy', { mfaRequired: true }, adminToken);
    const step = await login(bob);
    assert.equal(step.mfa, 'enroll');
    assert.equal(step.token, undefined);
    await assert.rejects(codeStep(step.challenge!, '123456'), { status: 401 }, 'an enrolment challenge is not a code challenge');
    const setup = await server.request<{ secret: string }>('POST', '/api/v1/auth/totp/setup', { challenge: step.challenge });
    const done = await withDevice((device) =>
      server.request<{ recoveryCodes: string[]; token: string }>('POST', '/api/v1/auth/totp/confirm', {
        challenge: step.challenge,
        code: totpCode(setup.secret, Date.now()),
        device: device.enrolment(),
      }),
    );
    assert.equal(done.recoveryCodes.length, 10);
    assert.ok(await server.request('GET', '/api/v1/me', undefined, done.token));
    await assert.rejects(
      server.request('POST', '/api/v1/auth/totp/disable', { code: totpCode(setup.secret, Date.now() + 30_000) }, done.token),
      (err: HttpError) => err.status === 403,
      'cannot turn it off while the workspace requires it',
    );
  });
});
