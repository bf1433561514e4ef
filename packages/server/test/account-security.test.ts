import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent } from '@sotong/protocol';
import { TEST_PASSWORD } from '../src/testing.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { TestClient } from './support/ws-client.js';

type HttpError = { status: number; body: { code: string; message: string; details?: { reason?: string; retryAfterMs?: number } } };

async function auditLog(server: SpawnedServer, token: string): Promise<AuditEvent[]> {
  return (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=500', undefined, token)).events;
}

describe('passwords and sign-in throttling', () => {
  let server: SpawnedServer;
  let adminToken: string;

  before(async () => {
    server = await spawnServer({ env: { SOTONG_LOGIN_MAX_FAILURES: '3', SOTONG_LOGIN_LOCKOUT_MS: '1500', SOTONG_LOGIN_ADDRESS_MAX_FAILURES: '1000' } });
    adminToken = await server.login(server.admin.email, server.admin.password);
  });
  after(() => server?.stop());

  it('refuses short, common and self-describing passwords with the reason', async () => {
    const cases: [string, RegExp][] = [
      ['short1', /at least 12/],
      ['Password123!', /most common/],
      ['qwertyuiop1234', /most common/],
      ['aaaaaaaaaaaaaa', /repeated or consecutive/],
      ['jiwoo.kim-secret-2026', /your name or email/],
    ];
    for (const [password, why] of cases) {
      await assert.rejects(server.request('POST', '/api/v1/admin/users', { email: 'jiwoo.kim@corp.kr', displayName: 'Jiwoo Kim', password }, adminToken), (err: HttpError) => {
        assert.equal(err.status, 400);
        assert.match(err.body.message, why, password);
        return true;
      });
    }
    // Each refusal is audited with its reason, never with the password.
    const refused = (await auditLog(server, adminToken)).filter((e) => e.action === 'password.refused' && e.target === 'jiwoo.kim@corp.kr');
    assert.equal(refused.length, cases.length);
    assert.deepEqual(new Set(refused.map((e) => (e.details as { during?: string }).during)), new Set(['user.create']));
    for (const [password, why] of cases) {
      assert.ok(refused.some((e) => why.test(String((e.details as { reason?: string }).reason))), `a refusal audited as ${why}`);
      assert.ok(!JSON.stringify(refused).includes(password), 'the password is not in the audit log');
    }
  });

  it('locks an account after repeated failures, audits each step, and lets it in again after the lockout', async () => {
    const victim = await person(server, 'Victim');
    for (let i = 0; i < 3; i++) await assert.rejects(server.login(victim.user.email, 'not the password at all'), { status: 401 });
    await assert.rejects(server.login(victim.user.email, TEST_PASSWORD), (err: HttpError) => {
      assert.equal(err.status, 429);
      assert.equal(err.body.code, 'rate_limited');
      assert.ok((err.body.details?.retryAfterMs ?? 0) > 0);
      return true;
    });
    const actions = (await auditLog(server, adminToken)).filter((e) => e.target === victim.user.email || e.target === `account:${victim.user.email}`).map((e) => e.action);
    assert.deepEqual(actions.reverse(), ['login.succeeded', 'login.failed', 'login.failed', 'login.failed', 'login.locked', 'login.refused_locked']);
    await new Promise((r) => setTimeout(r, 1600));
    assert.ok(await server.login(victim.user.email, TEST_PASSWORD), 'the lockout ends');
  });
});

describe('one source address guessing many accounts', () => {
  it('is locked itself, whichever account it tries next', async () => {
    const server = await spawnServer({ env: { SOTONG_LOGIN_ADDRESS_MAX_FAILURES: '4', SOTONG_LOGIN_MAX_FAILURES: '100' } });
    try {
      const someone = await person(server, 'Someone');
      for (let i = 0; i < 4; i++) await assert.rejects(server.login(`guess${i}@corp.kr`, 'not a real password'), { status: 401 });
      await assert.rejects(server.login(someone.user.email, TEST_PASSWORD), { status: 429 });
    } finally {
      await server.stop();
    }
  });
});

describe('admin actions cut off live sessions', () => {
  let server: SpawnedServer;
  let adminToken: string;
  let member: Person;
  let other: Person;

  before(async () => {
    server = await spawnServer();
    adminToken = await server.login(server.admin.email, server.admin.password);
    [member, other] = await Promise.all([person(server, 'Member'), person(server, 'Other')]);
  });
  after(() => server?.stop());

  it('a deactivated user is disconnected within a second and cannot come back', async () => {
    const socket = await member.connect();
    await assert.rejects(server.request('POST', `/api/v1/admin/users/${other.user.id}/deactivate`, {}, member.token), { status: 403 });
    await server.request('POST', `/api/v1/admin/users/${member.user.id}/deactivate`, {}, adminToken);
    const closed = await socket.waitForClose(1000);
    assert.deepEqual(closed, { code: 4003, reason: 'deactivated' });
    await assert.rejects(server.request('GET', '/api/v1/me', undefined, member.token), { status: 401 });
    await assert.rejects(TestClient.connect(server.wsUrl, member.token), /closed|unauthenticated/);
    await assert.rejects(server.login(member.user.email, TEST_PASSWORD), { status: 401 });
    const entry = (await auditLog(server, adminToken)).find((e) => e.action === 'user.deactivated');
    assert.equal(entry?.target, member.user.id);
  });

  it('a role change takes effect at once: the socket reconnects with the new role', async () => {
    let socket = await other.connect();
    assert.ok(await socket.call('channel.create', { name: 'before-demotion' }));
    await server.request('PATCH', `/api/v1/admin/users/${other.user.id}`, { role: 'guest' }, adminToken);
    assert.equal((await socket.waitForClose(1000)).code, 4003);
    socket = await other.connect();
    await assert.rejects(socket.call('channel.create', { name: 'after-demotion' }), { code: 'forbidden' });
    socket.close();
    const entry = (await auditLog(server, adminToken)).find((e) => e.action === 'role.changed');
    assert.deepEqual(entry?.details, { from: 'member', to: 'guest' });
    await assert.rejects(server.request('GET', '/api/v1/admin/audit', undefined, other.token), { status: 403 });
  });
});
