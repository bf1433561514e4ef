import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { CLOSE_CODES, DEVICE_PROOF_HEADER, type AuditEvent, type Device, type LoginResult, type SessionGranted } from '@sotong/protocol';
import { rememberDevice, TEST_PASSWORD, TestDevice } from '../src/testing.js';
import { BUS_URL, clusterSkip } from './support/cluster.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { CommandError } from './support/frame-client.js';
import { TestClient } from './support/ws-client.js';

type HttpError = { status: number; body: { code: string; message: string; details?: { reason?: string } } };

const refusedFor = (reason: string, status = 401) => (err: HttpError) => err.status === status && err.body.code === 'unauthenticated' && err.body.details?.reason === reason;

/** A device the test holds: its key, its session, and a way to open sockets with it. */
interface SignedInDevice {
  key: TestDevice;
  session: SessionGranted;
  token: string;
  connect(server: SpawnedServer): Promise<TestClient>;
}

async function signIn(server: SpawnedServer, email: string, key = TestDevice.generate()): Promise<SignedInDevice> {
  const result = await server.signIn(email, TEST_PASSWORD, key);
  assert.ok('token' in result, `a session, not ${JSON.stringify(result)}`);
  rememberDevice(result.token, key);
  return { key, session: result, token: result.token, connect: (on) => TestClient.connect(on.wsUrl, result.token) };
}

async function refresh(server: SpawnedServer, key: TestDevice, session: { device: { deviceId: string; credential: string } }): Promise<SessionGranted> {
  const granted = await server.request<SessionGranted>('POST', '/api/v1/auth/refresh', key.refreshBody(session.device.deviceId, session.device.credential));
  rememberDevice(granted.token, key);
  return granted;
}

/** Raw REST with exactly the given headers: what a thief with some of the pieces would send. */
async function rawGet(server: SpawnedServer, path: string, headers: Record<string, string>): Promise<{ status: number; body: HttpError['body'] }> {
  const res = await fetch(`${server.httpUrl}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as HttpError['body'] };
}

async function audit(server: SpawnedServer, adminToken: string): Promise<AuditEvent[]> {
  return (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=500', undefined, adminToken)).events;
}

/** Opens a socket and sends auth with the given proof (null: none); returns the refusal and the close. */
async function refusedSocket(server: SpawnedServer, token: string, proof: (client: TestClient) => string | null) {
  const client = await TestClient.open(server.wsUrl);
  const error = await client.auth(token, undefined, proof(client)).then(
    () => assert.fail('the socket must be refused'),
    (err: unknown) => err as CommandError,
  );
  return { error, closed: await client.waitForClose() };
}

/** Runs `revoke` and returns how long until the live socket closed, measured against the real server. */
async function closeTime(client: TestClient, revoke: () => Promise<unknown>): Promise<{ ms: number; code: number; reason: string }> {
  const start = performance.now();
  const [closed] = await Promise.all([client.waitForClose(3000), revoke()]);
  return { ms: performance.now() - start, ...closed };
}

describe('devices: enrolment, proof of possession, renewal, revocation', () => {
  let server: SpawnedServer;
  let adminToken: string;

  before(async () => {
    server = await spawnServer();
    adminToken = await server.login(server.admin.email, server.admin.password);
  });
  after(() => server?.stop());

  it('a stolen access token alone does not connect or call REST, and each refusal is typed and audited', async () => {
    const alice = await person(server, 'Alice');
    const thief = TestDevice.generate();

    const bare = await refusedSocket(server, alice.token, () => null);
    assert.equal(bare.error.code, 'unauthenticated');
    assert.deepEqual(bare.error.details, { reason: 'proof_missing' });
    assert.equal(bare.closed.code, CLOSE_CODES.authFailed);
    const forged = await refusedSocket(server, alice.token, (client) => thief.challengeProof(alice.token, client.challenge));
    assert.deepEqual(forged.error.details, { reason: 'proof_invalid' });
    // A proof for another connection's challenge does not carry over.
    const otherChallenge = randomBytes(24).toString('base64url');
    const replayed = await refusedSocket(server, alice.token, () => TestDevice.generate().challengeProof(alice.token, otherChallenge));
    assert.deepEqual(replayed.error.details, { reason: 'proof_invalid' });

    assert.deepEqual(await rawGet(server, '/api/v1/me', { authorization: `Bearer ${alice.token}` }), {
      status: 401,
      body: { code: 'unauthenticated', message: 'a device proof is required with the token', details: { reason: 'proof_missing' } },
    });
    const wrongKey = await rawGet(server, '/api/v1/me', thief.requestHeaders(alice.token, 'GET', '/api/v1/me'));
    assert.equal(wrongKey.body.details?.reason, 'proof_invalid');

    // The real device's proof holds once, for the request it was made for, and only while fresh.
    const mine = TestDevice.generate();
    const own = await signIn(server, alice.user.email, mine);
    const headers = mine.requestHeaders(own.token, 'GET', '/api/v1/me');
    assert.equal((await rawGet(server, '/api/v1/me', headers)).status, 200);
    assert.equal((await rawGet(server, '/api/v1/me', headers)).body.details?.reason, 'proof_replayed');
    const otherPath = mine.requestHeaders(own.token, 'GET', '/api/v1/me');
    assert.equal((await rawGet(server, '/api/v1/channels', otherPath)).body.details?.reason, 'proof_invalid');
    const stale = mine.requestHeaders(own.token, 'GET', '/api/v1/me', Date.now() - 10 * 60_000);
    assert.equal((await rawGet(server, '/api/v1/me', stale)).body.details?.reason, 'proof_expired');
    const garbled = { ...mine.requestHeaders(own.token, 'GET', '/api/v1/me'), [DEVICE_PROOF_HEADER]: 'not-a-proof' };
    assert.equal((await rawGet(server, '/api/v1/me', garbled)).body.details?.reason, 'proof_invalid');

    const refusals = (await audit(server, adminToken)).filter((e) => e.action === 'device.proof_refused' && e.actorId === alice.user.id);
    const seen = refusals.map((e) => `${String(e.details.transport)}:${String(e.details.reason)}`);
    for (const expected of ['websocket:proof_missing', 'websocket:proof_invalid', 'http:proof_missing', 'http:proof_invalid', 'http:proof_replayed', 'http:proof_expired']) {
      assert.ok(seen.includes(expected), `audited ${expected} (got ${seen.join(', ')})`);
    }
  });

  it('a sign-in without a device is refused; signing in enrols the device once, and the enrolment is audited', async () => {
    const bob = await person(server, 'Bob');
    await assert.rejects(server.request('POST', '/api/v1/auth/login', { email: bob.user.email, password: TEST_PASSWORD }), refusedFor('device_required'));
    const key = TestDevice.generate();
    const first = await signIn(server, bob.user.email, key);
    const again = await signIn(server, bob.user.email, key);
    assert.equal(again.session.device.deviceId, first.session.device.deviceId, 'the same key is the same device');
    assert.notEqual(again.session.device.credential, first.session.device.credential, 'a new sign-in gets a new credential');
    assert.ok(first.session.expiresAt - Date.now() <= 15 * 60_000 + 5_000, 'access tokens are short-lived');

    const { devices } = await server.request<{ devices: Device[] }>('GET', '/api/v1/devices', undefined, first.token);
    const listed = devices.find((d) => d.id === first.session.device.deviceId)!;
    assert.deepEqual({ name: listed.name, platform: listed.platform, publicKey: listed.publicKey, status: listed.status, current: listed.current }, {
      name: 'test device',
      platform: 'node',
      publicKey: key.publicKey,
      status: 'active',
      current: true,
    });
    assert.ok(listed.firstSeenAt <= listed.lastSeenAt);
    assert.equal(devices.length, 2, 'the device person() signed in with, and this one');

    const events = await audit(server, adminToken);
    const enrolled = events.filter((e) => e.action === 'device.enrolled' && e.actorId === bob.user.id);
    assert.equal(enrolled.length, 2);
    assert.ok(enrolled.some((e) => e.target === first.session.device.deviceId && e.details.status === 'active'));
    assert.ok(events.some((e) => e.action === 'login.refused_device' && e.target === bob.user.email && e.details.reason === 'device_required'));
  });

  it('the device credential and a device signature renew the access token with no sign-in', async () => {
    const carol = await person(server, 'Carol');
    const device = await signIn(server, carol.user.email);
    const renewed = await refresh(server, device.key, device.session);
    assert.notEqual(renewed.token, device.token);
    assert.equal(renewed.user.id, carol.user.id);
    assert.equal(renewed.device.deviceId, device.session.device.deviceId);
    assert.equal((await server.request<{ id: string }>('GET', '/api/v1/me', undefined, renewed.token)).id, carol.user.id);
    const socket = await TestClient.connect(server.wsUrl, renewed.token);
    socket.close();

    const body = device.key.refreshBody(device.session.device.deviceId, device.session.device.credential);
    await assert.rejects(server.request('POST', '/api/v1/auth/refresh', { ...body, credential: 'dc_wrong' }), refusedFor('credential_invalid'));
    const thief = TestDevice.generate().refreshBody(device.session.device.deviceId, device.session.device.credential);
    await assert.rejects(server.request('POST', '/api/v1/auth/refresh', thief), refusedFor('proof_invalid'), 'a stolen credential without the key');
    await server.request('POST', '/api/v1/auth/refresh', body);
    await assert.rejects(server.request('POST', '/api/v1/auth/refresh', body), refusedFor('proof_replayed'));
    const events = (await audit(server, adminToken)).filter((e) => e.action === 'device.refresh_refused' && e.target === device.session.device.deviceId);
    assert.deepEqual(events.map((e) => e.details.reason).sort(), ['credential_invalid', 'proof_invalid', 'proof_replayed']);
  });

  it('a user lists and revokes their own device: its socket closes within a second, and it cannot reconnect, renew or sign in again', async () => {
    const dan = await person(server, 'Dan');
    const laptop = await signIn(server, dan.user.email);
    const phone = await signIn(server, dan.user.email);
    const phoneSocket = await phone.connect(server);
    const laptopSocket = await laptop.connect(server);

    const { devices } = await server.request<{ devices: Device[] }>('GET', '/api/v1/devices', undefined, laptop.token);
    assert.deepEqual(devices.filter((d) => d.current).map((d) => d.id), [laptop.session.device.deviceId]);
    const eve = await person(server, 'Eve');
    await assert.rejects(server.request('DELETE', `/api/v1/devices/${phone.session.device.deviceId}`, undefined, eve.token), { status: 403 });

    const closed = await closeTime(phoneSocket, () => server.request('DELETE', `/api/v1/devices/${phone.session.device.deviceId}`, undefined, laptop.token));
    assert.equal(closed.code, CLOSE_CODES.revoked);
    assert.equal(closed.reason, 'device_revoked');
    assert.ok(closed.ms < 1000, `closed after ${closed.ms.toFixed(0)} ms`);
    assert.equal((await laptopSocket.call<{ id: string }>('me.get')).id, dan.user.id, 'the other device stays connected');

    await assert.rejects(TestClient.connect(server.wsUrl, phone.token), /invalid or expired token/);
    await assert.rejects(server.request('GET', '/api/v1/me', undefined, phone.token), { status: 401 });
    await assert.rejects(refresh(server, phone.key, phone.session), refusedFor('device_revoked'));
    await assert.rejects(server.signIn(dan.user.email, TEST_PASSWORD, phone.key), refusedFor('device_revoked'));
    const after = (await server.request<{ devices: Device[] }>('GET', '/api/v1/devices', undefined, laptop.token)).devices;
    assert.equal(after.find((d) => d.id === phone.session.device.deviceId)?.status, 'revoked');
    laptopSocket.close();
  });

  it('an admin revokes one device of a user, then all of them: live sockets close within a second, audited', async () => {
    const fay = await person(server, 'Fay');
    const one = await signIn(server, fay.user.email);
    const two = await signIn(server, fay.user.email);
    const [socketOne, socketTwo, socketThree] = await Promise.all([one.connect(server), two.connect(server), fay.connect()]);
    await assert.rejects(server.request('POST', `/api/v1/admin/users/${fay.user.id}/devices/revoke`, {}, (await person(server, 'Gus')).token), { status: 403 });

    const listed = await server.request<{ devices: Device[] }>('GET', `/api/v1/admin/users/${fay.user.id}/devices`, undefined, adminToken);
    assert.equal(listed.devices.length, 3);
    const single = await closeTime(socketOne, () => server.request('DELETE', `/api/v1/devices/${one.session.device.deviceId}`, undefined, adminToken));
    assert.ok(single.ms < 1000 && single.code === CLOSE_CODES.revoked, `one device: ${single.code} after ${single.ms.toFixed(0)} ms`);
    assert.equal(socketTwo.closed, undefined);

    const start = performance.now();
    const [revoked, closedTwo, closedThree] = await Promise.all([
      server.request<{ revoked: number }>('POST', `/api/v1/admin/users/${fay.user.id}/devices/revoke`, {}, adminToken),
      socketTwo.waitForClose(3000),
      socketThree.waitForClose(3000),
    ]);
    const ms = performance.now() - start;
    assert.equal(revoked.revoked, 2, 'the two devices still active');
    assert.deepEqual([closedTwo.code, closedThree.code], [CLOSE_CODES.revoked, CLOSE_CODES.revoked]);
    assert.ok(ms < 1000, `all devices closed after ${ms.toFixed(0)} ms`);
    await assert.rejects(refresh(server, two.key, two.session), refusedFor('device_revoked'));

    const events = (await audit(server, adminToken)).filter((e) => e.details.userId === fay.user.id);
    assert.ok(events.some((e) => e.action === 'device.revoked' && e.target === one.session.device.deviceId));
    assert.equal(events.filter((e) => e.action === 'device.revoked_all').length, 2);
  });

  it('with approval required, a new device waits until another device of the user, or an admin, approves it', async () => {
    const hana = await person(server, 'Hana');
    const existing = await signIn(server, hana.user.email);
    const ivan = await person(server, 'Ivan');
    await assert.rejects(server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: true }, hana.token), { status: 403 });
    await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: true }, adminToken);
    try {
      const newKey = TestDevice.generate();
      const pending = await server.signIn(hana.user.email, TEST_PASSWORD, newKey);
      assert.ok('devicePending' in pending && pending.devicePending, JSON.stringify(pending));
      assert.equal('token' in pending, false, 'no access token while pending');
      await assert.rejects(refresh(server, newKey, pending), refusedFor('device_pending'));
      await assert.rejects(server.request('POST', `/api/v1/devices/${pending.device.deviceId}/approve`, {}, ivan.token), { status: 403 });

      const approved = await server.request<Device>('POST', `/api/v1/devices/${pending.device.deviceId}/approve`, {}, existing.token);
      assert.equal(approved.status, 'active');
      const session = await refresh(server, newKey, pending);
      const socket = await TestClient.connect(server.wsUrl, session.token);
      socket.close();
      await assert.rejects(server.request('POST', `/api/v1/devices/${pending.device.deviceId}/approve`, {}, existing.token), { status: 409 });

      // A known device signs in again without waiting; another new one waits for the admin.
      assert.ok('token' in (await server.signIn(hana.user.email, TEST_PASSWORD, newKey)));
      const thirdKey = TestDevice.generate();
      const third: LoginResult = await server.signIn(hana.user.email, TEST_PASSWORD, thirdKey);
      assert.ok('devicePending' in third);
      await server.request('POST', `/api/v1/devices/${third.device.deviceId}/approve`, {}, adminToken);
      const thirdSession = await refresh(server, thirdKey, third);
      (await TestClient.connect(server.wsUrl, thirdSession.token)).close();

      const events = (await audit(server, adminToken)).filter((e) => e.actorId === hana.user.id || e.details.userId === hana.user.id);
      assert.ok(events.some((e) => e.action === 'device.enrolled' && e.target === pending.device.deviceId && e.details.status === 'pending'));
      assert.ok(events.some((e) => e.action === 'device.approved' && e.target === pending.device.deviceId && e.actorId === hana.user.id));
      assert.ok(events.some((e) => e.action === 'device.approved' && e.target === third.device.deviceId && e.actorId !== hana.user.id));
    } finally {
      await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: false }, adminToken);
    }
  });

  it('a password reset revokes every device of the user', async () => {
    const jin = await person(server, 'Jin');
    const device = await signIn(server, jin.user.email);
    const socket = await device.connect(server);
    await server.request('GET', '/api/v1/me', undefined, device.token);
    const { execFileSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
    execFileSync(process.execPath, [cli, 'admin', 'reset-password', '--email', jin.user.email, '--password', 'a brand new passphrase 77'], {
      env: { ...process.env, ...server.storeEnv, SOTONG_SCRYPT_COST: '1024', LOG_LEVEL: 'silent' },
    });
    await assert.rejects(refresh(server, device.key, device.session), refusedFor('device_revoked'));
    socket.close();
  });
});

describe('devices in a cluster: revocation and replays hold on every node', { skip: await clusterSkip() }, () => {
  const nodes: SpawnedServer[] = [];
  let adminToken: string;

  before(async () => {
    const env = { BUS_URL, SOTONG_BUS_PREFIX: `t${randomBytes(4).toString('hex')}` };
    nodes.push(await spawnServer({ env }));
    nodes.push(await spawnServer({ env: { ...env, ...nodes[0]!.storeEnv } }));
    adminToken = await nodes[0]!.login(nodes[0]!.admin.email, nodes[0]!.admin.password);
  });
  after(async () => {
    await nodes[1]?.stop();
    await nodes[0]?.stop();
  });

  it('revoked on one node, the device’s sockets on the other close within a second', async () => {
    const kim: Person = await person(nodes[0]!, 'Kim');
    const device = await signIn(nodes[0]!, kim.user.email);
    const onSecond = await device.connect(nodes[1]!);
    const other = await TestClient.connect(nodes[1]!.wsUrl, kim.token);
    const closed = await closeTime(onSecond, () => nodes[0]!.request('DELETE', `/api/v1/devices/${device.session.device.deviceId}`, undefined, adminToken));
    assert.equal(closed.code, CLOSE_CODES.revoked);
    assert.ok(closed.ms < 1000, `closed on the other node after ${closed.ms.toFixed(0)} ms`);
    assert.equal(other.closed, undefined, "the user's other device stays connected");
    await assert.rejects(TestClient.connect(nodes[1]!.wsUrl, device.token), /invalid or expired token/);
    other.close();
  });
  it('a request proof used on one node is a replay on the other', async () => {
    const lee: Person = await person(nodes[0]!, 'Lee');
    const device = TestDevice.generate();
    const session = await signIn(nodes[0]!, lee.user.email, device);
    const headers = device.requestHeaders(session.token, 'GET', '/api/v1/me');
    assert.equal((await rawGet(nodes[0]!, '/api/v1/me', headers)).status, 200);
    assert.deepEqual(await rawGet(nodes[1]!, '/api/v1/me', headers), {
      status: 401,
      body: { code: 'unauthenticated', message: 'the device proof does not hold', details: { reason: 'proof_replayed' } },
    });
    const fresh = device.requestHeaders(session.token, 'GET', '/api/v1/me');
    assert.equal((await rawGet(nodes[1]!, '/api/v1/me', fresh)).status, 200, 'a new proof from the same device still holds there');
  });
});
