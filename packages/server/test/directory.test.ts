import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Attribute, Change } from 'ldapts';
import type { AuditEvent, ChannelMember, ChannelView, Department, Device, DirectorySyncResult, Person, Profile, SessionGranted, User } from '@sotong/protocol';
import { ALEX, CEO, companyEntries, directoryEnv, GROUPS, HANA, JISOO, MINSU, PEOPLE, SALES, TEMP, type FixturePerson } from './support/directory-fixtures.js';
import { spawnServer, type SpawnedServer } from './support/fixtures.js';
import { startSlapd, type Slapd } from './support/slapd.js';
import { TestClient } from './support/ws-client.js';
import { rememberDevice, TestDevice, totpCode } from '../src/testing.js';

type HttpError = { status: number; body: { code: string; message: string } };
const refusedWith = (status: number, code: string) => (err: HttpError) => err.status === status && err.body.code === code;

async function auditOf(server: SpawnedServer, adminToken: string): Promise<AuditEvent[]> {
  return (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=500', undefined, adminToken)).events;
}

async function usersOf(server: SpawnedServer, token: string): Promise<Map<string, User>> {
  const { users } = await server.request<{ users: User[] }>('GET', '/api/v1/users?limit=1000', undefined, token);
  return new Map(users.map((u) => [u.email, u]));
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const login = (server: SpawnedServer, who: FixturePerson | string, password?: string) =>
  server.login(typeof who === 'string' ? who : who.uid, password ?? (typeof who === 'string' ? 'x' : who.password));

/** Signs a directory person in by their sign-in name from a new device, keeping the session (its device credential renews it). */
async function deviceSession(server: SpawnedServer, who: FixturePerson): Promise<{ key: TestDevice; session: SessionGranted }> {
  const key = TestDevice.generate();
  const result = await server.signIn(who.uid, who.password, key);
  if (!('token' in result)) throw new Error(`no session for ${who.uid}: ${JSON.stringify(result)}`);
  rememberDevice(result.token, key);
  return { key, session: result };
}

const renew = (server: SpawnedServer, device: { key: TestDevice; session: SessionGranted }) =>
  server.request<SessionGranted>('POST', '/api/v1/auth/refresh', device.key.refreshBody(device.session.device.deviceId, device.session.device.credential));

describe('LDAP directory (OpenLDAP, StartTLS)', () => {
  let slapd: Slapd;
  let server: SpawnedServer;
  let adminToken: string;
  let dev: ChannelView;
  let sales: ChannelView;
  let ids: Map<string, User>;

  const sync = () => server.request<DirectorySyncResult>('POST', '/api/v1/admin/directory/sync', {}, adminToken);
  const modify = async (dn: string, operation: 'replace' | 'add' | 'delete', type: string, values: string[]) => {
    const client = await slapd.admin();
    try {
      await client.modify(dn, [new Change({ operation, modification: new Attribute({ type, values }) })]);
    } finally {
      await client.unbind();
    }
  };

  before(async () => {
    slapd = await startSlapd({ entries: companyEntries() });
    server = await spawnServer({
      env: directoryEnv(slapd, {
        SOTONG_LDAP_GROUP_ROLES: JSON.stringify({ 'sotong-admins': 'admin', contractors: 'guest' }),
        SOTONG_LDAP_GROUP_CHANNELS: JSON.stringify({ devs: ['dev'], [`cn=sales,${GROUPS}`]: ['sales'], 'sotong-admins': ['no-such-channel'] }),
        SOTONG_LOGIN_MAX_FAILURES: '3',
        SOTONG_LOGIN_LOCKOUT_MS: '2000',
      }),
    });
    adminToken = await server.adminToken();
    dev = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'dev', kind: 'private' }, adminToken);
    sales = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'sales', kind: 'private' }, adminToken);
  });
  after(async () => {
    await server?.stop();
    await slapd?.stop();
  });

  it('a sync brings in people, the OU tree as departments, groups, roles and channel memberships', async () => {
    const result = await sync();
    assert.equal(result.trigger, 'manual');
    assert.equal(result.people, 6);
    assert.equal(result.added, 6);
    assert.deepEqual(result.departments, { added: 3, updated: 0, removed: 0 });
    assert.equal(result.groups, 4);
    assert.equal(result.channelJoins, 4);
    assert.deepEqual(result.missingChannels, ['no-such-channel']);

    ids = await usersOf(server, adminToken);
    assert.equal(ids.get(CEO.email)?.role, 'admin', 'sotong-admins → admin');
    assert.equal(ids.get(TEMP.email)?.role, 'guest', 'contractors → guest');
    assert.equal(ids.get(MINSU.email)?.role, 'member', 'no mapped group → the default role');
    assert.equal(ids.get(MINSU.email)?.displayName, '김민수');

    const { departments } = await server.request<{ departments: Department[] }>('GET', '/api/v1/org/departments', undefined, adminToken);
    const byName = new Map(departments.map((d) => [d.name, d]));
    assert.deepEqual([...byName.keys()].sort(), ['개발팀', '영업팀', '플랫폼파트'].sort());
    assert.equal(byName.get('플랫폼파트')?.parentId, byName.get('개발팀')?.id);
    assert.equal(byName.get('개발팀')?.parentId, null);
    assert.equal(byName.get('영업팀')?.memberCount, 2);

    const devMembers = (await server.request<{ members: ChannelMember[] }>('GET', `/api/v1/channels/${dev.id}/members`, undefined, adminToken)).members.map((m) => m.userId);
    assert.ok(devMembers.includes(ids.get(MINSU.email)!.id) && devMembers.includes(ids.get(JISOO.email)!.id), 'devs → #dev');
    const salesMembers = (await server.request<{ members: ChannelMember[] }>('GET', `/api/v1/channels/${sales.id}/members`, undefined, adminToken)).members.map((m) => m.userId);
    assert.ok(salesMembers.includes(ids.get(ALEX.email)!.id), 'a group named by its DN → #sales');

    const again = await sync();
    assert.deepEqual([again.added, again.updated, again.deactivated, again.channelJoins], [0, 0, 0, 0], 'a second sync changes nothing');
    const audit = await auditOf(server, adminToken);
    assert.equal(audit.filter((e) => e.action === 'directory.user_added').length, 6);
    assert.equal(audit.filter((e) => e.action === 'directory.synced').length, 2);
    assert.ok(!server.output().includes(slapd.adminPassword), 'the bind password is never logged');
  });

  it('signs in by binding to the directory and enrols the device; a wrong password is a typed, audited refusal', async () => {
    const { session } = await deviceSession(server, MINSU);
    const me = await server.request<User>('GET', '/api/v1/me', undefined, session.token);
    assert.equal(me.email, MINSU.email);
    const { devices } = await server.request<{ devices: Device[] }>('GET', '/api/v1/devices', undefined, session.token);
    assert.deepEqual(devices.map((d) => d.id), [session.device.deviceId], 'the bind sign-in enrolled the device');
    const unsigned = await fetch(`${server.httpUrl}/api/v1/me`, { headers: { authorization: `Bearer ${session.token}` } });
    assert.equal(unsigned.status, 401, 'the token alone, without the device proof, is refused');
    await assert.rejects(
      server.request('POST', '/api/v1/auth/login', { email: MINSU.uid, password: MINSU.password }),
      (err: HttpError & { body: { details?: { reason?: string } } }) => err.status === 401 && err.body.details?.reason === 'device_required',
      'the right directory password without a device key is not a session',
    );
    assert.ok(await server.login(MINSU.email, MINSU.password), 'the email works as well as the sign-in name');
    await assert.rejects(login(server, MINSU, 'not the password at all'), refusedWith(401, 'unauthenticated'));
    await assert.rejects(login(server, 'nobody', 'whatever password'), refusedWith(401, 'unauthenticated'));
    const audit = await auditOf(server, adminToken);
    const reasons = audit.filter((e) => e.action === 'login.failed').map((e) => `${e.target}:${String(e.details.reason)}`);
    assert.ok(reasons.includes(`${MINSU.email}:ldap_wrong_password`));
    assert.ok(reasons.includes('nobody:ldap_unknown_user'));
    assert.ok(audit.some((e) => e.action === 'login.succeeded' && e.target === MINSU.email && e.details.source === 'ldap' && e.details.deviceId === session.device.deviceId));
  });

  it('directory sign-ins are throttled like any other: repeated failures lock the account', async () => {
    for (let i = 0; i < 3; i++) await assert.rejects(login(server, TEMP, `wrong password ${i}`), refusedWith(401, 'unauthenticated'));
    await assert.rejects(login(server, TEMP), refusedWith(429, 'rate_limited'), 'locked even with the right password');
  });

  it('a sync updates titles and departments and deactivates people who left: their sockets close at once, their devices no longer renew', async () => {
    const hanaDevice = await deviceSession(server, HANA);
    const hanaSocket = await TestClient.connect(server.wsUrl, hanaDevice.session.token);
    await modify(MINSU.dn, 'replace', 'title', ['책임연구원']);
    await modify(`cn=devs,${GROUPS}`, 'delete', 'member', [JISOO.dn]);
    const admin = await slapd.admin();
    await admin.modifyDN(JISOO.dn, `uid=${JISOO.uid},${SALES}`);
    await admin.del(HANA.dn);
    await admin.unbind();

    const result = await sync();
    assert.equal(result.deactivated, 1);
    assert.equal(result.updated, 3, "minsu (title), jisoo (department), alex (his manager hana left)");
    assert.equal(result.channelLeaves, 1, 'jisoo left devs, so #dev');
    assert.deepEqual(await hanaSocket.waitForClose(1000), { code: 4003, reason: 'deactivated' });
    await assert.rejects(login(server, HANA), refusedWith(401, 'unauthenticated'));
    await assert.rejects(renew(server, hanaDevice), refusedWith(401, 'unauthenticated'), "the device's credential does not renew access");
    await assert.rejects(server.request('GET', '/api/v1/me', undefined, hanaDevice.session.token), refusedWith(401, 'unauthenticated'));

    const minsu = await server.request<Profile>('GET', `/api/v1/org/people/${ids.get(MINSU.email)!.id}`, undefined, adminToken);
    assert.equal(minsu.title, '책임연구원');
    const jisoo = await server.request<Profile>('GET', `/api/v1/org/people/${ids.get(JISOO.email)!.id}`, undefined, adminToken);
    assert.deepEqual(jisoo.departmentPath.map((d) => d.name), ['영업팀']);
    const devMembers = (await server.request<{ members: ChannelMember[] }>('GET', `/api/v1/channels/${dev.id}/members`, undefined, adminToken)).members.map((m) => m.userId);
    assert.ok(!devMembers.includes(ids.get(JISOO.email)!.id));

    const audit = await auditOf(server, adminToken);
    const update = audit.find((e) => e.action === 'directory.user_updated' && e.target === ids.get(MINSU.email)!.id);
    assert.deepEqual((update?.details.changes as Record<string, unknown>).title, ['선임연구원', '책임연구원']);
    assert.ok(audit.some((e) => e.action === 'directory.user_deactivated' && e.target === ids.get(HANA.email)!.id && e.details.reason === 'removed'));
  });

  it('joining a mapped group changes the workspace role (and the live session picks it up)', async () => {
    const alexSocket = await TestClient.connect(server.wsUrl, await login(server, ALEX));
    await modify(`cn=sotong-admins,${GROUPS}`, 'add', 'member', [ALEX.dn]);
    const result = await sync();
    assert.equal(result.roleChanges, 1);
    assert.equal((await usersOf(server, adminToken)).get(ALEX.email)?.role, 'admin');
    assert.equal((await alexSocket.waitForClose(1000)).code, 4003);
    const audit = await auditOf(server, adminToken);
    assert.ok(audit.some((e) => e.action === 'role.changed' && e.target === ids.get(ALEX.email)!.id && e.details.to === 'admin' && e.details.by === 'directory'));
  });

  it('org chart: the tree, a department with titles, a profile with its path and manager, search in Korean and English', async () => {
    const token = await login(server, MINSU);
    const { departments } = await server.request<{ departments: Department[] }>('GET', '/api/v1/org/departments', undefined, token);
    const platform = departments.find((d) => d.name === '플랫폼파트')!;
    const devDept = departments.find((d) => d.name === '개발팀')!;
    const team = await server.request<{ path: { name: string }[]; members: Person[] }>('GET', `/api/v1/org/departments/${devDept.id}`, undefined, token);
    assert.deepEqual(team.members.map((m) => [m.displayName, m.title]), [['김민수', '책임연구원']]);
    const part = await server.request<{ path: { name: string }[]; members: Person[] }>('GET', `/api/v1/org/departments/${platform.id}`, undefined, token);
    assert.deepEqual(part.path.map((p) => p.name), ['개발팀', '플랫폼파트']);
    assert.deepEqual(part.members, []);

    const profile = await server.request<Profile>('GET', `/api/v1/org/people/${ids.get(MINSU.email)!.id}`, undefined, token);
    assert.equal(profile.manager?.displayName, '박지영');
    assert.equal(profile.manager?.title, '대표이사');
    assert.equal(profile.phone, '+82 2 555 1001');
    assert.equal(profile.employeeNumber, '1001');
    assert.equal(profile.source, 'ldap');

    const search = async (query: string) =>
      (await server.request<{ people: Person[] }>('GET', `/api/v1/org/people?query=${encodeURIComponent(query)}`, undefined, token)).people.map((p) => p.displayName);
    assert.deepEqual(await search('민수'), ['김민수']);
    assert.deepEqual((await search('지')).sort(), ['박지영', '이지수'].sort(), 'a syllable in the middle of a name');
    assert.deepEqual(await search('kim'), ['Alex Kim'], 'Latin names without regard to case');
    assert.deepEqual(await search('최하나'), [], 'people who left are not found');
    assert.deepEqual(await search('%'), [], 'LIKE wildcards are taken literally');
    await assert.rejects(server.request('GET', '/api/v1/org/departments/dp_nope', undefined, token), refusedWith(404, 'not_found'));
  });

  it('a guest sees their own profile and people they share a channel with, and cannot browse or search', async () => {
    // The lockout from the throttling test lasts two seconds here.
    const guest = await eventually('the guest to sign in', () => login(server, TEMP).catch(() => undefined), 20_000);
    await assert.rejects(server.request('GET', '/api/v1/org/departments', undefined, guest), refusedWith(403, 'forbidden'));
    await assert.rejects(server.request('GET', `/api/v1/org/people?query=${encodeURIComponent('민수')}`, undefined, guest), refusedWith(403, 'forbidden'));
    const own = await server.request<Profile>('GET', `/api/v1/org/people/${ids.get(TEMP.email)!.id}`, undefined, guest);
    assert.equal(own.title, '계약직');
    const minsuId = ids.get(MINSU.email)!.id;
    await assert.rejects(server.request('GET', `/api/v1/org/people/${minsuId}`, undefined, guest), refusedWith(404, 'not_found'));
    await server.request('POST', '/api/v1/channels', { name: 'project', kind: 'private', memberIds: [ids.get(TEMP.email)!.id, minsuId] }, adminToken);
    assert.equal((await server.request<Profile>('GET', `/api/v1/org/people/${minsuId}`, undefined, guest)).displayName, '김민수');
  });

  it('a second factor applies to directory sign-ins too', async () => {
    const token = await login(server, CEO);
    const { secret } = await server.request<{ secret: string }>('POST', '/api/v1/auth/totp/setup', {}, token);
    await server.request('POST', '/api/v1/auth/totp/confirm', { code: totpCode(secret, Date.now()) }, token);
    const key = TestDevice.generate();
    const step = await server.signIn(CEO.uid, CEO.password, key);
    assert.ok(!('token' in step) && 'mfa' in step && step.mfa === 'totp', 'the bind answers the second step, not a session');
    const done = await server.request<SessionGranted>('POST', '/api/v1/auth/login/code', { challenge: step.challenge, code: totpCode(secret, Date.now() + 30_000), device: key.enrolment() });
    rememberDevice(done.token, key);
    assert.equal((await server.request<User>('GET', '/api/v1/me', undefined, done.token)).email, CEO.email);
    const audit = await auditOf(server, adminToken);
    assert.ok(audit.some((e) => e.action === 'login.succeeded' && e.target === CEO.email && e.details.factor === 'totp' && e.details.deviceId === done.device.deviceId));
  });
});

describe('LDAP directory (Active Directory preset, LDAPS, scheduled sync)', () => {
  let slapd: Slapd;
  let server: SpawnedServer;
  let adminToken: string;

  const setUac = async (who: FixturePerson, flags: number) => {
    const client = await slapd.admin();
    try {
      await client.modify(who.dn, [new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(flags)] }) })]);
    } finally {
      await client.unbind();
    }
  };

  before(async () => {
    slapd = await startSlapd({ entries: companyEntries() });
    server = await spawnServer({
      env: directoryEnv(slapd, {
        SOTONG_LDAP_URL: slapd.ldapsUrl,
        SOTONG_LDAP_STARTTLS: 'false',
        SOTONG_LDAP_PRESET: 'activedirectory',
        // The test directory is OpenLDAP with AD's attributes on an auxiliary class, not AD's `user` class.
        SOTONG_LDAP_USER_FILTER: '(objectClass=sotongAdAccount)',
        SOTONG_LDAP_GROUP_FILTER: '(objectClass=groupOfNames)',
        SOTONG_LDAP_SYNC_INTERVAL_SECONDS: '1',
        SOTONG_LOGIN_MAX_FAILURES: '20',
      }),
    });
    adminToken = await server.adminToken();
  });
  after(async () => {
    await server?.stop();
    await slapd?.stop();
  });

  it('the scheduled sync brings people in by the Active Directory attributes', async () => {
    const minsu = await eventually('the scheduled sync', async () => (await usersOf(server, adminToken)).get(MINSU.email));
    const profile = await server.request<Profile>('GET', `/api/v1/org/people/${minsu.id}`, undefined, adminToken);
    assert.equal(profile.employeeNumber, '1001', 'employeeID');
    assert.equal(profile.displayName, '김민수', 'displayName');
    assert.deepEqual(profile.departmentPath.map((d) => d.name), ['개발팀']);
    // People are in as the sync writes them; its result is recorded when the whole run ends.
    const status = await eventually('the scheduled sync to finish', async () => {
      const answer = await server.request<{ intervalSeconds: number; last: DirectorySyncResult | null }>('GET', '/api/v1/admin/directory', undefined, adminToken);
      return answer.last ? { ...answer, last: answer.last } : undefined;
    });
    assert.equal(status.intervalSeconds, 1);
    assert.equal(status.last.trigger, 'scheduled');
  });

  it('signs in over LDAPS with the sAMAccountName or the userPrincipalName', async () => {
    assert.ok(await server.login(MINSU.uid, MINSU.password));
    assert.ok(await server.login(`${MINSU.uid}@corp.sotong.test`, MINSU.password));
    await assert.rejects(server.login(`${MINSU.uid}@corp.sotong.test`, 'wrong password here'), refusedWith(401, 'unauthenticated'));
  });

  it('an account disabled in userAccountControl is refused and deactivated; enabled again, it comes back', async () => {
    const device = await deviceSession(server, TEMP);
    const socket = await TestClient.connect(server.wsUrl, device.session.token);
    await setUac(TEMP, 512 | 2);
    assert.deepEqual(await socket.waitForClose(15_000), { code: 4003, reason: 'deactivated' });
    await assert.rejects(server.login(TEMP.uid, TEMP.password), refusedWith(401, 'unauthenticated'));
    await assert.rejects(renew(server, device), refusedWith(401, 'unauthenticated'), 'a disabled account\'s device does not renew');
    const audit = await auditOf(server, adminToken);
    assert.ok(audit.some((e) => e.action === 'directory.user_deactivated' && e.details.reason === 'disabled'));
    assert.ok(audit.some((e) => e.action === 'login.failed' && e.target === TEMP.email && ['ldap_disabled', 'deactivated'].includes(String(e.details.reason))));
    await setUac(TEMP, 512);
    await eventually('the account to come back', async () => (await usersOf(server, adminToken)).get(TEMP.email)?.deactivated === false || undefined);
    assert.ok(await server.login(TEMP.uid, TEMP.password));
  });
});

describe('LDAP directory: transport security and availability', () => {
  let slapd: Slapd;

  before(async () => {
    slapd = await startSlapd({ entries: companyEntries() });
  });
  after(() => slapd?.stop());

  it('LDAPS: a directory person signs in before any sync and is brought in then', async () => {
    const server = await spawnServer({ env: directoryEnv(slapd, { SOTONG_LDAP_URL: slapd.ldapsUrl, SOTONG_LDAP_STARTTLS: 'false' }) });
    try {
      const token = await server.login(MINSU.uid, MINSU.password);
      const me = await server.request<User>('GET', '/api/v1/me', undefined, token);
      const profile = await server.request<Profile>('GET', `/api/v1/org/people/${me.id}`, undefined, token);
      assert.equal(profile.title, '선임연구원');
      assert.equal(profile.source, 'ldap');
    } finally {
      await server.stop();
    }
  });

  it('without TLS the directory refuses the bind: sign-in and sync are unavailable, and audited', async () => {
    const server = await spawnServer({ env: directoryEnv(slapd, { SOTONG_LDAP_STARTTLS: 'false' }) });
    try {
      const admin = await server.adminToken();
      await assert.rejects(server.login(MINSU.uid, MINSU.password), refusedWith(503, 'unavailable'));
      await assert.rejects(server.request('POST', '/api/v1/admin/directory/sync', {}, admin), refusedWith(503, 'unavailable'));
      const audit = await auditOf(server, admin);
      assert.ok(audit.some((e) => e.action === 'login.failed' && e.details.reason === 'ldap_unavailable'));
      assert.ok(audit.some((e) => e.action === 'directory.sync_failed'));
      assert.ok(!server.output().includes(slapd.adminPassword));
    } finally {
      await server.stop();
    }
  });

  it('StartTLS to a certificate no configured CA signed is refused', async () => {
    const env = directoryEnv(slapd);
    delete env.SOTONG_LDAP_CA_FILE;
    const server = await spawnServer({ env });
    try {
      await assert.rejects(server.login(MINSU.uid, MINSU.password), refusedWith(503, 'unavailable'));
    } finally {
      await server.stop();
    }
  });

  it('only workspace admins may sync', async () => {
    const server = await spawnServer({ env: directoryEnv(slapd) });
    try {
      const member = await server.login(MINSU.uid, MINSU.password);
      await assert.rejects(server.request('POST', '/api/v1/admin/directory/sync', {}, member), refusedWith(403, 'forbidden'));
    } finally {
      await server.stop();
    }
  });
});

describe('LDAP directory: attribute names from configuration', () => {
  let slapd: Slapd;
  const modify = async (dn: string, type: string, values: string[]) => {
    const client = await slapd.admin();
    try {
      await client.modify(dn, [new Change({ operation: 'replace', modification: new Attribute({ type, values }) })]);
    } finally {
      await client.unbind();
    }
  };

  before(async () => {
    slapd = await startSlapd({ entries: companyEntries() });
    // Standard inetOrgPerson attributes standing in for a company's own choices.
    await modify(MINSU.dn, 'departmentNumber', ['플랫폼 리드']);
    await modify(HANA.dn, 'carLicense', ['locked']);
  });
  after(() => slapd?.stop());

  it('reads each field from the attribute the settings name, and a "present" marker disables the account', async () => {
    const attributes = { title: 'departmentNumber', disabled: 'carLicense', disabledRule: 'present' };
    const server = await spawnServer({ env: directoryEnv(slapd, { SOTONG_LDAP_ATTRIBUTES: JSON.stringify(attributes) }) });
    try {
      const admin = await server.adminToken();
      const sync = () => server.request<DirectorySyncResult>('POST', '/api/v1/admin/directory/sync', {}, admin);
      const first = await sync();
      assert.deepEqual(first.skipped, [{ dn: HANA.dn, reason: 'disabled' }], 'an account marked disabled is not brought in');
      const users = await usersOf(server, admin);
      const minsu = await server.request<Profile>('GET', `/api/v1/org/people/${users.get(MINSU.email)!.id}`, undefined, admin);
      assert.equal(minsu.title, '플랫폼 리드', 'the title comes from departmentNumber, not title');
      await assert.rejects(login(server, HANA), refusedWith(401, 'unauthenticated'));

      await modify(TEMP.dn, 'carLicense', ['locked']);
      assert.equal((await sync()).deactivated, 1);
      assert.equal((await usersOf(server, admin)).get(TEMP.email)?.deactivated, true, 'marked later: deactivated');
      await assert.rejects(login(server, TEMP), refusedWith(401, 'unauthenticated'));
      assert.ok(await login(server, MINSU), 'an unmarked account signs in');
    } finally {
      await server.stop();
    }
  });
});

describe('LDAP directory: more people than one sync batch', () => {
  let slapd: Slapd;
  let server: SpawnedServer;

  before(async () => {
    const staff = Array.from({ length: 120 }, (_, i) => ({
      dn: `uid=staff${i},${SALES}`,
      attributes: {
        objectClass: 'inetOrgPerson',
        uid: `staff${i}`,
        cn: `사원${i}`,
        sn: '사',
        mail: `staff${i}@sotong.test`,
        // The first reports to the last: a manager the sync meets in a later batch.
        manager: i === 0 ? `uid=staff119,${SALES}` : CEO.dn,
      },
    }));
    slapd = await startSlapd({ entries: [...companyEntries(), ...staff] });
    server = await spawnServer({ env: directoryEnv(slapd) });
  });
  after(async () => {
    await server?.stop();
    await slapd?.stop();
  });

  it('brings everyone in and links managers across batches', async () => {
    const adminToken = await server.adminToken();
    const result = await server.request<DirectorySyncResult>('POST', '/api/v1/admin/directory/sync', {}, adminToken);
    assert.equal(result.added, 126);
    const users = await usersOf(server, adminToken);
    const first = await server.request<Profile>('GET', `/api/v1/org/people/${users.get('staff0@sotong.test')!.id}`, undefined, adminToken);
    assert.equal(first.manager?.displayName, '사원119');
    const { departments } = await server.request<{ departments: Department[] }>('GET', '/api/v1/org/departments', undefined, adminToken);
    assert.equal(departments.find((d) => d.name === '영업팀')?.memberCount, 122);
  });
});
