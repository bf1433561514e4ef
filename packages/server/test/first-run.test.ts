import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, SessionGranted } from '@sotong/protocol';
import { rememberDevice, TestDevice } from '../src/testing.js';
import { spawnServer, type SpawnedServer } from './support/fixtures.js';

/** The set-up link the first run prints on stderr, which may land a moment after the "listening" log line. */
async function printedSetupLink(server: SpawnedServer): Promise<string> {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const link = /finish setting up in the browser[^:]*: (\S+)/.exec(server.output())?.[1];
    if (link) return link;
  }
  throw new Error(`no set-up link in:\n${server.output()}`);
}

type HttpError = { status: number; body: { code: string } };
const refusedWith = (status: number, code: string) => (err: HttpError) => err.status === status && err.body.code === code;

describe('first run: the printed one-time link finishes the set-up in the browser', () => {
  let server: SpawnedServer;
  let code: string;
  const chosen = 'a harbour of our very own 2026';

  before(async () => {
    // No configured password: the server makes one and prints it, with the set-up link, on the terminal.
    server = await spawnServer({ env: { SOTONG_ADMIN_PASSWORD: '' } });
    const url = new URL(await printedSetupLink(server));
    assert.equal(url.origin, server.httpUrl);
    code = decodeURIComponent(/^#\/setup\?code=(.+)$/.exec(url.hash)?.[1] ?? '');
    assert.equal(code, /one-time password: (\S+)/.exec(server.output())?.[1], 'the link carries the printed one-time password');
  });
  after(async () => {
    await server?.stop();
  });

  const setUp = (body: Record<string, unknown>, device = TestDevice.generate()) =>
    server.request<SessionGranted>('POST', '/api/v1/setup', { code, workspaceName: '한빛 상사', displayName: '김관리', password: chosen, device: device.enrolment(), ...body });

  it('is open until the owner signs in, and refuses a wrong code or a weak password without changing anything', async () => {
    assert.deepEqual(await server.request('GET', '/api/v1/setup'), { open: true, workspaceName: 'Sotong' });
    await assert.rejects(setUp({ code: 'not-the-printed-code' }), refusedWith(401, 'unauthenticated'));
    await assert.rejects(setUp({ password: 'short' }), refusedWith(400, 'bad_request'));
    assert.deepEqual(await server.request('GET', '/api/v1/setup'), { open: true, workspaceName: 'Sotong' });
  });

  it('names the workspace and the owner, sets their password, signs the device in, and closes', async () => {
    const device = TestDevice.generate();
    const session = await setUp({}, device);
    rememberDevice(session.token, device);
    assert.equal(session.user.displayName, '김관리');
    assert.equal(session.user.role, 'owner');
    assert.deepEqual(await server.request('GET', '/api/v1/setup'), { open: false, workspaceName: '한빛 상사' });

    const { events } = await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=50', undefined, session.token);
    assert.ok(events.some((e) => e.action === 'workspace.set_up' && e.actorId === session.user.id && (e.details as { workspaceName?: string }).workspaceName === '한빛 상사'));
    assert.ok(events.some((e) => e.action === 'login.succeeded' && (e.details as { factor?: string }).factor === 'setup_code'));

    // The link is spent: a second use is refused, the printed password no longer signs in, the chosen one does.
    await assert.rejects(setUp({ workspaceName: 'Taken over' }), refusedWith(409, 'conflict'));
    await assert.rejects(server.signIn(session.user.email, code, TestDevice.generate()), { status: 401 });
    assert.ok('token' in (await server.signIn(session.user.email, chosen, TestDevice.generate())));
  });
});
