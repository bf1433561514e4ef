import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawnServer, TEST_PASSWORD, totpCode, type SpawnedServer } from '@sotong/server/testing';
import { SotongError } from '@sotong/protocol';
import { finishTotpEnrollment, login, RestClient, startTotpEnrollment } from '../src/index.js';

describe('SDK REST calls: sign-out, two-factor set-up, administration', () => {
  let server: SpawnedServer;
  let admin: RestClient;

  before(async () => {
    server = await spawnServer();
    admin = new RestClient({ httpBase: server.httpUrl, token: await server.login(server.admin.email, server.admin.password) });
  });
  after(() => server?.stop());

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
    const member = new RestClient({ httpBase: server.httpUrl, token: (await login(server.httpUrl, 'plain@sotong.test', TEST_PASSWORD)).token });
    await assert.rejects(member.auditLog(), (err: unknown) => err instanceof SotongError && err.code === 'forbidden');
  });

  it('sets up two-factor sign-in and signs out', async () => {
    await admin.createUser({ email: 'totp@sotong.test', displayName: 'Totp', password: TEST_PASSWORD });
    const { token } = await login(server.httpUrl, 'totp@sotong.test', TEST_PASSWORD);
    const me = new RestClient({ httpBase: server.httpUrl, token });
    const setup = await me.totpSetup();
    assert.match(setup.uri, /^otpauth:\/\/totp\//);
    await assert.rejects(me.totpConfirm('000000'), (err: unknown) => err instanceof SotongError);
    assert.equal((await me.totpConfirm(totpCode(setup.secret, Date.now()))).length, 10);
    await me.logout();
    await assert.rejects(me.totpSetup(), (err: unknown) => err instanceof SotongError && err.code === 'unauthenticated');
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
    const refused = await login(server.httpUrl, user.email, TEST_PASSWORD).then(
      () => assert.fail('the workspace requires two factors'),
      (err: unknown) => err as SotongError,
    );
    const step = refused.details as { mfa: string; challenge: string };
    assert.equal(step.mfa, 'enroll');
    const setup = await startTotpEnrollment(server.httpUrl, step.challenge);
    await assert.rejects(finishTotpEnrollment(server.httpUrl, step.challenge, '000000'), (err: unknown) => err instanceof SotongError);
    const done = await finishTotpEnrollment(server.httpUrl, step.challenge, totpCode(setup.secret, Date.now()));
    assert.equal(done.recoveryCodes.length, 10);
    assert.equal(done.session.user.id, user.id);
    assert.equal((await new RestClient({ httpBase: server.httpUrl, token: done.session.token }).totpSetup().catch((e: SotongError) => e.code)), 'conflict');
  });
});
