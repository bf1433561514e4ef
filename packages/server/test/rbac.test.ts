import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, ChannelView, Device, Message, PermissionMatrix } from '@sotong/protocol';
import { permissionMatrix, permissionTable } from '../src/services/permission-matrix.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { download, upload } from './support/files.js';
import { testDatabaseUrl } from './support/postgres.js';
import { TestClient } from './support/ws-client.js';

type HttpError = { status: number; body: { code: string; message: string } };
const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const DOC = fileURLToPath(new URL('../../../../docs/identity.md', import.meta.url));

async function auditLog(server: SpawnedServer, token: string): Promise<AuditEvent[]> {
  return (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=500', undefined, token)).events;
}

/** Runs `sotong admin …` against the server's store, as an operator would. */
async function sotongAdmin(server: SpawnedServer, ...args: string[]): Promise<string> {
  const env = { ...process.env, ...server.storeEnv, DATA_DIR: server.dataDir, LOG_LEVEL: 'silent' };
  return (await run(process.execPath, [CLI, 'admin', ...args], { env })).stdout;
}

const refusedWith = (status: number, code: string) => (err: HttpError) => {
  assert.equal(err.status, status, err.body?.message);
  assert.equal(err.body.code, code);
  return true;
};

describe('the permission table in docs/identity.md', () => {
  it('is the table the rules generate', () => {
    const doc = readFileSync(DOC, 'utf8');
    const start = doc.indexOf('<!-- permissions:begin -->');
    const end = doc.indexOf('<!-- permissions:end -->');
    assert.ok(start >= 0 && end > start, 'docs/identity.md has the permissions markers');
    const table = doc.slice(start + '<!-- permissions:begin -->'.length, end).trim();
    assert.equal(table, permissionTable(), 'regenerate it: node packages/server/dist/src/cli.js admin permissions');
  });

  it('is what `sotong admin permissions` prints', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'admin', 'permissions'], { env: { ...process.env, LOG_LEVEL: 'silent' } });
    assert.equal(stdout, `${permissionTable()}\n`);
  });
});

describe('roles and the admin API', () => {
  let server: SpawnedServer;
  let admin: Person;
  let member: Person;
  let guest: Person;
  let operator: Person;

  before(async () => {
    server = await spawnServer();
    [admin, member, guest, operator] = await Promise.all([
      person(server, 'Admin', 'admin'),
      person(server, 'Member'),
      person(server, 'Guest', 'guest'),
      person(server, 'Operator'),
    ]);
    assert.match(await sotongAdmin(server, 'grant-system-admin', '--email', operator.user.email), /is a system admin now/);
  });
  after(() => server?.stop());

  it('the matrix the API returns is the one the server enforces, on REST and on the socket', async () => {
    const expected = permissionMatrix();
    assert.deepEqual(await server.request<PermissionMatrix>('GET', '/api/v1/admin/permissions', undefined, admin.token), expected);
    const socket = await operator.connect();
    assert.deepEqual(await socket.call('admin.permissions'), expected, 'a system admin who is a plain member reads it too');
    socket.close();
    const spec = await server.request<{ paths: Record<string, unknown> }>('GET', '/api/v1/openapi.json');
    const adminPaths = ['/api/v1/admin/permissions', '/api/v1/admin/users/{userId}', '/api/v1/admin/users/{userId}/deactivate', '/api/v1/admin/audit'];
    for (const path of [...adminPaths, '/api/v1/admin/users/{userId}/devices', '/api/v1/admin/users/{userId}/devices/revoke', '/api/v1/admin/policy/devices']) {
      assert.ok(spec.paths[path], `${path} is in the OpenAPI document`);
    }
    const roleChange = expected.actions.find((a) => a.name === 'user.role')!;
    assert.equal(roleChange.byRole['workspace.member'], '—');
    assert.equal(roleChange.byRole['workspace.admin'], 'if target_not_owner');
  });

  it('members and guests are refused every admin action with a typed error, each refusal audited', async () => {
    const [adminDevice] = (await server.request<{ devices: Device[] }>('GET', '/api/v1/devices', undefined, admin.token)).devices;
    for (const who of [member, guest]) {
      const attempts: [string, string, unknown?][] = [
        ['GET', '/api/v1/admin/permissions'],
        ['GET', '/api/v1/admin/audit'],
        ['PATCH', `/api/v1/admin/users/${admin.user.id}`, { role: 'guest' }],
        ['POST', `/api/v1/admin/users/${admin.user.id}/deactivate`, {}],
        ['POST', '/api/v1/admin/users', { email: `x${randomBytes(3).toString('hex')}@sotong.test`, displayName: 'X', role: 'admin' }],
        ['PUT', '/api/v1/admin/policy', { mfaRequired: true }],
        ['GET', `/api/v1/admin/users/${admin.user.id}/devices`],
        ['POST', `/api/v1/admin/users/${admin.user.id}/devices/revoke`, {}],
        ['GET', '/api/v1/admin/policy/devices'],
        ['PUT', '/api/v1/admin/policy/devices', { approvalRequired: true }],
        // Routes outside the command table go through the same check and the same audit.
        ['DELETE', `/api/v1/devices/${adminDevice!.id}`],
        ['POST', `/api/v1/devices/${adminDevice!.id}/approve`, {}],
      ];
      for (const [method, path, body] of attempts) {
        await assert.rejects(server.request(method, path, body, who.token), refusedWith(403, 'forbidden'), `${method} ${path}`);
      }
      const socket = await who.connect();
      await assert.rejects(socket.call('admin.user.role', { userId: member.user.id, role: 'admin' }), { code: 'forbidden' });
      await assert.rejects(socket.call('admin.audit'), { code: 'forbidden' });
      await assert.rejects(socket.call('admin.user.devices', { userId: admin.user.id }), { code: 'forbidden' });
      socket.close();
    }
    const denied = (await auditLog(server, await server.adminToken())).filter((e) => e.action === 'permission.denied');
    const byActor = (who: Person) => denied.filter((e) => e.actorId === who.user.id).map((e) => e.details.action).sort();
    const expected = [
      ...['audit.read', 'audit.read', 'permissions.read', 'user.create', 'user.deactivate', 'user.role', 'user.role', 'workspace.policy'],
      ...['device.approve', 'device.read', 'device.read', 'device.revoke', 'device.revoke', 'workspace.policy', 'workspace.policy'],
    ].sort();
    assert.deepEqual(byActor(member), expected);
    assert.deepEqual(byActor(guest), expected);
    const roleRefusal = denied.find((e) => e.actorId === member.user.id && e.details.action === 'user.role' && e.target === admin.user.id);
    assert.ok(roleRefusal, 'the refusal names its target');
    assert.equal(roleRefusal.details.code, 'forbidden');
    assert.equal(roleRefusal.address, '127.0.0.1', 'REST refusals carry the source address');
  });

  it('routine refusals (a channel one cannot see) are typed errors but not security events', async () => {
    const a = await admin.connect();
    const secret = await a.call<ChannelView>('channel.create', { name: `secret-${randomBytes(3).toString('hex')}`, kind: 'private' });
    a.close();
    const before = (await auditLog(server, await server.adminToken())).filter((e) => e.action === 'permission.denied').length;
    await assert.rejects(server.request('GET', `/api/v1/channels/${secret.id}/messages`, undefined, member.token), refusedWith(404, 'not_found'));
    const m = await member.connect();
    await assert.rejects(m.call('channel.archive', { channelId: secret.id }), { code: 'not_found' });
    m.close();
    assert.equal((await auditLog(server, await server.adminToken())).filter((e) => e.action === 'permission.denied').length, before);
  });

  it("a workspace admin cannot touch an owner; an owner's role is never changed here", async () => {
    const owner = (await server.request<{ id: string }>('GET', '/api/v1/me', undefined, await server.adminToken())).id;
    await assert.rejects(server.request('PATCH', `/api/v1/admin/users/${owner}`, { role: 'member' }, admin.token), refusedWith(403, 'forbidden'));
    await assert.rejects(server.request('POST', `/api/v1/admin/users/${owner}/deactivate`, {}, admin.token), refusedWith(403, 'forbidden'));
    await assert.rejects(server.request('PATCH', `/api/v1/admin/users/${owner}`, { role: 'member' }, operator.token), refusedWith(403, 'forbidden'));
    await assert.rejects(server.request('PATCH', `/api/v1/admin/users/${owner}`, { role: 'owner' }, await server.adminToken()), refusedWith(400, 'bad_request'));
    await assert.rejects(server.request('PATCH', `/api/v1/admin/users/u_nobody`, { role: 'member' }, admin.token), refusedWith(404, 'not_found'));
    await assert.rejects(server.request('PATCH', `/api/v1/admin/users/u_nobody`, { role: 'member' }, member.token), refusedWith(403, 'forbidden'));
    const denied = (await auditLog(server, await server.adminToken())).filter((e) => e.action === 'permission.denied' && e.target === owner);
    assert.deepEqual(denied.map((e) => [e.actorId, e.details.action]).sort(), [
      [admin.user.id, 'user.deactivate'],
      [admin.user.id, 'user.role'],
      [operator.user.id, 'user.role'],
    ].sort());
  });

  it('a system admin administers people but reads no channel by virtue of the role', async () => {
    const m = await member.connect();
    const own = await m.call<ChannelView>('channel.create', { name: `members-only-${randomBytes(3).toString('hex')}`, kind: 'private' });
    await m.call('message.send', { channelId: own.id, clientMsgId: 'x', text: 'not for operators' });
    m.close();
    const op = await operator.connect();
    await assert.rejects(op.call('messages.list', { channelId: own.id }), { code: 'not_found' });
    await assert.rejects(op.call('channel.archive', { channelId: own.id }), { code: 'not_found' });
    assert.ok((await op.call<{ events: AuditEvent[] }>('admin.audit', { limit: 10 })).events.length > 0);
    const temp = await person(server, 'Temp');
    await op.call('admin.user.role', { userId: temp.user.id, role: 'admin' });
    assert.equal((await op.call<{ devices: Device[] }>('admin.user.devices', { userId: temp.user.id })).devices.length, 1);
    const tempSocket = await temp.connect();
    await op.call('admin.user.deactivate', { userId: temp.user.id });
    assert.deepEqual(await tempSocket.waitForClose(1000), { code: 4003, reason: 'deactivated' }, 'the deactivated user is cut off at once');
    await assert.rejects(TestClient.connect(server.wsUrl, temp.token), /closed|unauthenticated/);
    const signedOut = await person(server, 'SignedOut');
    const signedOutSocket = await signedOut.connect();
    assert.deepEqual(await op.call('admin.user.devices.revoke', { userId: signedOut.user.id }), { revoked: 1 });
    assert.deepEqual(await signedOutSocket.waitForClose(1000), { code: 4003, reason: 'device_revoked' }, "revoking a person's devices over the socket cuts theirs");
    op.close();
    const log = await auditLog(server, await server.adminToken());
    assert.ok(log.some((e) => e.action === 'device.revoked_all' && e.actorId === operator.user.id && (e.details as { userId?: string }).userId === signedOut.user.id));
    assert.ok(log.some((e) => e.action === 'role.changed' && e.target === temp.user.id && e.actorId === operator.user.id));
    assert.ok(log.some((e) => e.action === 'user.deactivated' && e.target === temp.user.id && e.actorId === operator.user.id));
    assert.ok(log.some((e) => e.action === 'system_admin.granted' && e.target === operator.user.id));

    assert.match(await sotongAdmin(server, 'revoke-system-admin', '--email', operator.user.email), /is not a system admin now/);
    await assert.rejects(server.request('GET', '/api/v1/admin/audit', undefined, operator.token), refusedWith(403, 'forbidden'));
    assert.match(await sotongAdmin(server, 'grant-system-admin', '--email', operator.user.email), /is a system admin now/);
  });

  it('a role change is audited and cuts the live socket at once; it reconnects with the new rights', async () => {
    const person2 = await person(server, 'Demoted');
    const a = await admin.connect();
    const open = await a.call<ChannelView>('channel.create', { name: `town-${randomBytes(3).toString('hex')}` });
    await a.call('message.send', { channelId: open.id, clientMsgId: 't1', text: 'hello town' });
    a.close();
    let socket = await person2.connect();
    assert.equal((await socket.call<{ messages: Message[] }>('messages.list', { channelId: open.id })).messages.length, 1);
    const started = Date.now();
    const changed = await server.request<{ role: string }>('PATCH', `/api/v1/admin/users/${person2.user.id}`, { role: 'guest' }, admin.token);
    assert.equal(changed.role, 'guest');
    assert.deepEqual(await socket.waitForClose(1000), { code: 4003, reason: 'role_changed' });
    assert.ok(Date.now() - started < 1000);
    socket = await TestClient.connect(server.wsUrl, person2.token);
    assert.equal((await socket.call<{ role: string }>('me.get')).role, 'guest');
    await assert.rejects(socket.call('messages.list', { channelId: open.id }), { code: 'not_found' }, 'as a guest the public channel is gone');
    socket.close();
    const entry = (await auditLog(server, await server.adminToken())).find((e) => e.action === 'role.changed' && e.target === person2.user.id);
    assert.deepEqual(entry?.details, { from: 'member', to: 'guest' });
    assert.equal(entry?.actorId, admin.user.id);
  });
});

describe('guests see only the channels they were invited to, on every read path', () => {
  let server: SpawnedServer;
  let host: Person;
  let peer: Person;
  let guest: Person;
  let invitedPublic: ChannelView;
  let invitedPrivate: ChannelView;
  let otherPublic: ChannelView;
  let otherPrivate: ChannelView;
  let dm: ChannelView;
  const roots = new Map<string, Message>();
  const files = new Map<string, string>();

  before(async () => {
    server = await spawnServer();
    [host, peer, guest] = await Promise.all([person(server, 'Host'), person(server, 'Peer'), person(server, 'Visitor', 'guest')]);
    const h = await host.connect();
    const make = (name: string, kind: 'public' | 'private', memberIds: string[] = []) => h.call<ChannelView>('channel.create', { name, kind, memberIds });
    invitedPublic = await make('lobby', 'public', [guest.user.id]);
    invitedPrivate = await make('project-x', 'private', [guest.user.id, peer.user.id]);
    otherPublic = await make('general', 'public', [peer.user.id]);
    otherPrivate = await make('board', 'private', [peer.user.id]);
    dm = await h.call<ChannelView>('dm.open', { userIds: [peer.user.id] });
    for (const channel of [invitedPublic, invitedPrivate, otherPublic, otherPrivate, dm]) {
      const root = await h.call<Message>('message.send', { channelId: channel.id, clientMsgId: `r-${channel.id}`, text: `회의록 quarterly ${channel.name}` });
      await h.call('message.send', { channelId: channel.id, clientMsgId: `t-${channel.id}`, text: 'thread reply', threadRootId: root.id });
      await h.call('message.pin', { messageId: root.id });
      const file = await upload(server, host.token, channel.id, 'notes.txt', Buffer.from(`notes of ${channel.name}`));
      await h.call('message.send', { channelId: channel.id, clientMsgId: `f-${channel.id}`, text: '', fileIds: [file.id] });
      roots.set(channel.id, root);
      files.set(channel.id, file.id);
    }
    h.close();
  });
  after(() => server?.stop());

  it('the channel list holds the invitations only, and browsing shows nothing', async () => {
    const g = await guest.connect();
    const mine = (await g.call<{ channels: ChannelView[] }>('channels.list')).channels.map((c) => c.id).sort();
    assert.deepEqual(mine, [invitedPublic.id, invitedPrivate.id].sort());
    assert.deepEqual((await g.call<{ channels: unknown[] }>('channels.browse')).channels, []);
    const rest = await server.request<{ channels: unknown[] }>('GET', '/api/v1/channels/browse', undefined, guest.token);
    assert.deepEqual(rest.channels, []);
    const memberView = await server.request<{ channels: { id: string }[] }>('GET', '/api/v1/channels/browse', undefined, peer.token);
    assert.ok(memberView.channels.some((c) => c.id === otherPublic.id), 'a member browses the public channels');
    g.close();
  });

  it('history, events, threads, members, pins, edits and files of other channels are not found; invited ones work', async () => {
    const g = await guest.connect({ [otherPublic.id]: 0, [otherPrivate.id]: 0, [dm.id]: 0 });
    assert.deepEqual(g.events(), [], 'cursors for channels the guest may not read bring nothing');
    for (const channel of [otherPublic, otherPrivate, dm]) {
      const root = roots.get(channel.id)!;
      const reads: [string, object][] = [
        ['channel.get', { channelId: channel.id }],
        ['messages.list', { channelId: channel.id }],
        ['events.sync', { channelId: channel.id, after: 0 }],
        ['thread.get', { messageId: root.id }],
        ['channel.members', { channelId: channel.id }],
        ['pins.list', { channelId: channel.id }],
        ['message.history', { messageId: root.id }],
        ['channel.join', { channelId: channel.id }],
      ];
      for (const [cmd, args] of reads) await assert.rejects(g.call(cmd, args), { code: 'not_found' }, `${cmd} on ${channel.name}`);
      assert.equal((await download(server, guest.token, files.get(channel.id)!)).status, 404, `file of ${channel.name}`);
      assert.equal((await download(server, guest.token, `${files.get(channel.id)!}/info`)).status, 404);
      await assert.rejects(server.request('GET', `/api/v1/messages/${root.id}/thread`, undefined, guest.token), refusedWith(404, 'not_found'));
    }
    for (const channel of [invitedPublic, invitedPrivate]) {
      const root = roots.get(channel.id)!;
      assert.equal((await g.call<{ messages: Message[] }>('messages.list', { channelId: channel.id })).messages.length, 2, 'the root and the file; the reply is in the thread');
      assert.equal((await g.call<{ replies: Message[] }>('thread.get', { messageId: root.id })).replies.length, 1);
      assert.ok((await g.call<{ members: unknown[] }>('channel.members', { channelId: channel.id })).members.length >= 2);
      assert.equal((await g.call<{ messages: Message[] }>('pins.list', { channelId: channel.id })).messages.length, 1);
      const res = await download(server, guest.token, files.get(channel.id)!);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), `notes of ${channel.name}`);
    }
    g.close();
  });

  it('search finds only what is in the invited channels', async () => {
    const hits = await server.request<{ hits: { message: Message }[] }>('GET', `/api/v1/search?query=${encodeURIComponent('회의록')}`, undefined, guest.token);
    assert.deepEqual(hits.hits.map((h) => h.message.channelId).sort(), [invitedPublic.id, invitedPrivate.id].sort());
    const scoped = await server.request<{ hits: unknown[] }>('GET', `/api/v1/search?query=quarterly&channelId=${otherPublic.id}`, undefined, guest.token);
    assert.deepEqual(scoped.hits, []);
    const byName = await server.request<{ hits: unknown[] }>('GET', `/api/v1/search?query=${encodeURIComponent('quarterly in:general')}`, undefined, guest.token);
    assert.deepEqual(byName.hits, []);
    const peerHits = await server.request<{ hits: { message: Message }[] }>('GET', `/api/v1/search?query=${encodeURIComponent('회의록')}`, undefined, peer.token);
    assert.equal(peerHits.hits.length, 5, 'the peer reads the public ones, their private ones and the DM');
  });

  it('a guest posts only where invited, and cannot create, join or invite', async () => {
    const g = await guest.connect();
    assert.ok(await g.call('message.send', { channelId: invitedPrivate.id, clientMsgId: 'g1', text: 'hi from the guest' }));
    await assert.rejects(g.call('message.send', { channelId: otherPublic.id, clientMsgId: 'g2', text: 'let me in' }), { code: 'not_found' });
    await assert.rejects(g.call('channel.create', { name: 'guest-room' }), { code: 'forbidden' });
    await assert.rejects(g.call('channel.invite', { channelId: invitedPublic.id, userIds: [peer.user.id] }), { code: 'forbidden' });
    await assert.rejects(g.call('channel.update', { channelId: invitedPublic.id, topic: 'mine' }), { code: 'forbidden' });
    g.close();
  });
});

const BUS_URL = process.env.SOTONG_TEST_BUS_URL ?? 'nats://127.0.0.1:4222';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 4222) });
    socket.setTimeout(2000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.end(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

// As in cluster.test.ts: CI has PostgreSQL and NATS, so there a missing one fails instead of skipping.
const clusterSkip = !testDatabaseUrl()
  ? 'needs PostgreSQL and NATS: runs in the PostgreSQL pass'
  : !process.env.CI && !(await reachable(BUS_URL))
    ? `needs NATS at ${BUS_URL}`
    : false;

describe('two nodes: a role change on one cuts the socket on the other', { skip: clusterSkip }, () => {
  let first: SpawnedServer;
  let second: SpawnedServer;

  before(async () => {
    const env = { BUS_URL, SOTONG_BUS_PREFIX: `t${randomBytes(4).toString('hex')}` };
    first = await spawnServer({ env });
    second = await spawnServer({ env: { ...env, ...first.storeEnv } });
  });
  after(async () => {
    await second?.stop();
    await first?.stop();
  });

  it('within a second, and the reconnect on that node has the new role', async () => {
    const target = await person(first, 'Remote');
    const socket = await TestClient.connect(second.wsUrl, target.token);
    const adminToken = await first.adminToken();
    await first.request('PATCH', `/api/v1/admin/users/${target.user.id}`, { role: 'guest' }, adminToken);
    assert.deepEqual(await socket.waitForClose(1000), { code: 4003, reason: 'role_changed' });
    const again = await TestClient.connect(second.wsUrl, target.token);
    assert.equal((await again.call<{ role: string }>('me.get')).role, 'guest');
    await assert.rejects(again.call('channel.create', { name: 'not-any-more' }), { code: 'forbidden' });
    again.close();
  });
});
