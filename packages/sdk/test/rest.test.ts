import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawnServer, TEST_PASSWORD, totpCode, type SpawnedServer } from '@sotong/server/testing';
import { SotongError } from '@sotong/protocol';
import { deviceEnrolment, finishTotpEnrollment, login, RestClient, SotongClient, startTotpEnrollment, WebCryptoDeviceKey } from '../src/index.js';

/** A REST client signing as a fresh device of this account. */
async function restFor(httpBase: string, email: string, password: string): Promise<{ rest: RestClient; client: SotongClient }> {
  const client = await SotongClient.login(httpBase, email, password);
  return { rest: new RestClient({ httpBase, credentials: client.session! }), client };
}

describe('SDK REST calls: sign-out, two-factor set-up, administration', () => {
  let server: SpawnedServer;
  let admin: RestClient;

  before(async () => {
    server = await spawnServer();
    admin = (await restFor(server.httpUrl, server.admin.email, server.admin.password)).rest;
  });
  after(() => server?.stop());

  it('lists my devices, the current one marked, and a revoked device can no longer call', async () => {
    await admin.createUser({ email: 'devices@sotong.test', displayName: 'Devices', password: TEST_PASSWORD });
    const laptop = await restFor(server.httpUrl, 'devices@sotong.test', TEST_PASSWORD);
    const phone = await restFor(server.httpUrl, 'devices@sotong.test', TEST_PASSWORD);
    const seen = await laptop.rest.devices();
    assert.equal(seen.length, 2);
    assert.deepEqual(seen.filter((d) => d.current).map((d) => d.id), [laptop.client.session!.deviceId]);
    await laptop.rest.revokeDevice(phone.client.session!.deviceId);
    phone.client.session!.invalidate();
    await assert.rejects(phone.rest.devices(), (err: unknown) => err instanceof SotongError && err.code === 'unauthenticated');
    const admins = await admin.userDevices(laptop.client.session!.user!.id);
    assert.deepEqual(admins.map((d) => d.status).sort(), ['active', 'revoked']);
    for (const c of [laptop.client, phone.client]) await c.close();
  });

  it('an admin creates a person, changes the role, and reads both in the audit log', async () => {
    const user = await admin.createUser({ email: 'rest@sotong.test', displayName: 'Rest', password: TEST_PASSWORD });
    assert.equal(user.role, 'member');
    assert.equal((await admin.setRole(user.id, 'guest')).role, 'guest');
    const log = await admin.auditLog({ limit: 50 });
    assert.ok(log.some((e) => e.action === 'user.created' && e.target === user.id));
    assert.ok(log.some((e) => e.action === 'role.changed' && e.target === user.id));
    const older = await admin.auditLog({ limit: 1, before: log[0]!.id });
    assert.equal(older[0]?.id, log[1]?.id);
  });

  it('a member is refused administration with a typed error', async () => {
    await admin.createUser({ email: 'plain@sotong.test', displayName: 'Plain', password: TEST_PASSWORD });
    const member = (await restFor(server.httpUrl, 'plain@sotong.test', TEST_PASSWORD)).rest;
    await assert.rejects(member.auditLog(), (err: unknown) => err instanceof SotongError && err.code === 'forbidden');
  });

  it('sets up two-factor sign-in and signs out', async () => {
    await admin.createUser({ email: 'totp@sotong.test', displayName: 'Totp', password: TEST_PASSWORD });
    const { rest: me, client } = await restFor(server.httpUrl, 'totp@sotong.test', TEST_PASSWORD);
    const setup = await me.totpSetup();
    assert.match(setup.uri, /^otpauth:\/\/totp\//);
    await assert.rejects(me.totpConfirm('000000'), (err: unknown) => err instanceof SotongError);
    assert.equal((await me.totpConfirm(totpCode(setup.secret, Date.now()))).length, 10);
    // Sign-out ends this access token; the device stays (revoking it is what ends it for good).
    await me.logout();
    await assert.rejects(me.totpSetup(), (err: unknown) => err instanceof SotongError && err.code === 'unauthenticated');
    await client.close();
  });
});

describe('SDK two-factor enrolment during sign-in', () => {
  let server: SpawnedServer;

  before(async () => {
    server = await spawnServer();
  });
  after(() => server?.stop());

  it('sets up the authenticator with the sign-in challenge and finishes signed in', async () => {
    const adminToken = await server.login(server.admin.email, server.admin.password);
    const user = await server.createUser('enrol@sotong.test', 'Enrol');
    await server.request('PUT', '/api/v1/admin/policy', { mfaRequired: true }, adminToken);
    const key = await WebCryptoDeviceKey.generate();
    const device = deviceEnrolment(key, { deviceName: 'Enrolment test' });
    const refused = await login(server.httpUrl, user.email, TEST_PASSWORD, device).then(
      () => assert.fail('the workspace requires two factors'),
      (err: unknown) => err as SotongError,
    );
    const step = refused.details as { mfa: string; challenge: string };
    assert.equal(step.mfa, 'enroll');
    const setup = await startTotpEnrollment(server.httpUrl, step.challenge);
    await assert.rejects(finishTotpEnrollment(server.httpUrl, step.challenge, '000000', device), (err: unknown) => err instanceof SotongError);
    const done = await finishTotpEnrollment(server.httpUrl, step.challenge, totpCode(setup.secret, Date.now()), device);
    assert.equal(done.recoveryCodes.length, 10);
    const client = await SotongClient.fromLogin(server.httpUrl, key, done.session);
    assert.equal(client.session!.user?.id, user.id);
    assert.equal((await new RestClient({ httpBase: server.httpUrl, credentials: client.session! }).totpSetup().catch((e: SotongError) => e.code)), 'conflict');
    await client.close();
  });
});
