import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, Department, DevicePending, LoginResult, Person, Profile, SessionGranted, User } from '@sotong/protocol';
import { testDatabaseUrl, TestDevice } from '../src/testing.js';
import { spawnServer, type SpawnedServer } from './support/fixtures.js';
import { b64, makeKeyPair, redirectMessage, samlId, signElement, TestIdp, type ResponseOptions } from './support/saml-idp.js';
import { codeFrom, exchangeAt, postAcsAt, PUBLIC_URL, refusal } from './support/saml-sp.js';

describe('SAML 2.0 single sign-on', () => {
  let server: SpawnedServer;
  let idp: TestIdp;
  let adminToken: string;
  const alice = { nameId: 'idp-user-0001', email: 'alice.sso@corp.example' };

  /** The spawned server's address for a URL under the public one. */
  const local = (url: string, base = server.httpUrl) => url.replace(PUBLIC_URL, base);

  /** Posts a SAMLResponse to the ACS as a browser form would; never follows the redirect. */
  const postAcs = (xml: string, accept = 'application/json', base = server.httpUrl) => postAcsAt(base, xml, accept);
  const exchange = <T extends LoginResult = SessionGranted>(code: string, device?: TestDevice) => exchangeAt<T>(server, code, device);

  const audit = async () => (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=500', undefined, adminToken)).events;

  /** Starts SP-initiated sign-in over HTTP and returns the AuthnRequest's ID, as the IdP would read it. */
  const startLogin = async () => {
    const res = await fetch(`${server.httpUrl}/api/v1/auth/saml/login`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const location = res.headers.get('location')!;
    assert.ok(location.startsWith(`${idp.ssoUrl}?`), location);
    const { doc } = redirectMessage(location, 'SAMLRequest');
    const request = doc.documentElement!;
    assert.equal(request.localName, 'AuthnRequest');
    assert.equal(request.getAttribute('AssertionConsumerServiceURL'), idp.acsUrl);
    assert.equal(request.getAttribute('Destination'), idp.ssoUrl);
    return request.getAttribute('ID')!;
  };

  const aliceSays = (extra: Partial<ResponseOptions> = {}): ResponseOptions => ({
    nameId: alice.nameId,
    attributes: { email: alice.email, displayName: 'Alice Kim', department: 'Engineering', title: 'Engineer', groups: ['staff'] },
    ...extra,
  });

  before(async () => {
    idp = new TestIdp(PUBLIC_URL);
    server = await spawnServer({ env: { PUBLIC_URL, SOTONG_SAML: idp.settings({ groupRoles: { 'sotong-admins': 'admin', contractors: 'guest' } }) } });
    adminToken = await server.adminToken();
  });
  after(() => server?.stop());

  it('publishes SP metadata with the entity id, the ACS and the logout endpoint', async () => {
    const res = await fetch(`${server.httpUrl}/api/v1/auth/saml/metadata`);
    assert.equal(res.status, 200);
    const xml = await res.text();
    assert.match(xml, new RegExp(`entityID="${idp.spEntityId}"`));
    assert.match(xml, new RegExp(`AssertionConsumerService[^>]+Location="${idp.acsUrl}"`));
    assert.match(xml, new RegExp(`SingleLogoutService[^>]+Location="${idp.sloEndpoint}"`));
    assert.match(xml, /WantAssertionsSigned="true"/);
  });

  it('tells a sign-in screen that SSO is on and where it starts (public auth/methods)', async () => {
    const res = await fetch(`${server.httpUrl}/api/v1/auth/methods`);
    assert.equal(res.status, 200);
    const methods = (await res.json()) as { saml: { loginUrl: string } | null };
    assert.equal(methods.saml?.loginUrl, '/api/v1/auth/saml/login');
    const start = await fetch(new URL(methods.saml!.loginUrl, server.httpUrl), { redirect: 'manual' });
    assert.equal(start.status, 302);
  });

  it('SP-initiated: the signed answer to our AuthnRequest provisions the user and the code signs the app in, once', async () => {
    const requestId = await startLogin();
    const code = await codeFrom(await postAcs(idp.responseXml(aliceSays({ inResponseTo: requestId }))));
    const device = TestDevice.generate();
    const session = await exchange(code, device);
    assert.equal(session.user.email, alice.email);
    assert.equal(session.user.displayName, 'Alice Kim');
    assert.equal(session.user.role, 'member');
    assert.ok(session.device.deviceId && session.device.credential, 'the session comes with the device credential, as at a password sign-in');
    const me = await server.request<User>('GET', '/api/v1/me', undefined, session.token);
    assert.equal(me.id, session.user.id);
    // The token is bound to the device: without the device's proof it is refused.
    const bare = await fetch(`${server.httpUrl}/api/v1/me`, { headers: { authorization: `Bearer ${session.token}` } });
    assert.equal(bare.status, 401);
    assert.equal(((await bare.json()) as { details?: { reason?: string } }).details?.reason, 'proof_missing');

    await assert.rejects(exchange(code), (err: { status: number; body: { details: { reason: string } } }) => err.status === 401 && err.body.details.reason === 'bad_code');
    const events = await audit();
    assert.ok(events.some((e) => e.action === 'user.created' && e.target === session.user.id && e.details.source === 'saml'));
    assert.ok(events.some((e) => e.action === 'login.succeeded' && e.target === alice.email && e.details.factor === 'saml' && e.details.initiatedBy === 'sp' && e.details.deviceId === session.device.deviceId));
    assert.ok(events.some((e) => e.action === 'device.enrolled' && e.target === session.device.deviceId));

    const { identities } = await server.request<{ identities: { nameId: string; attributes: { department: string; title: string; groups: string[] } }[] }>(
      'GET',
      `/api/v1/admin/users/${session.user.id}/sso`,
      undefined,
      adminToken,
    );
    assert.equal(identities[0]?.nameId, alice.nameId);
    assert.equal(identities[0]?.attributes.department, 'Engineering');
    assert.equal(identities[0]?.attributes.title, 'Engineer');
  });

  it('IdP-initiated: a second sign-in updates name and attributes, and groups set the role through the audited path', async () => {
    const attributes = { email: alice.email, displayName: 'Alice Kim-Park', department: 'Platform', title: 'Staff Engineer', groups: ['staff', 'sotong-admins'] };
    const session = await exchange(await codeFrom(await postAcs(idp.responseXml(aliceSays({ attributes })))));
    assert.equal(session.user.displayName, 'Alice Kim-Park');
    assert.equal(session.user.role, 'admin');
    const events = await audit();
    assert.ok(events.some((e) => e.action === 'role.changed' && e.target === session.user.id && e.details.to === 'admin' && e.details.source === 'saml'));
    assert.ok(events.some((e) => e.action === 'sso.user_updated' && e.target === session.user.id));
    const { identities } = await server.request<{ identities: { attributes: { department: string; title: string } }[] }>('GET', `/api/v1/admin/users/${session.user.id}/sso`, undefined, adminToken);
    assert.deepEqual([identities[0]?.attributes.department, identities[0]?.attributes.title], ['Platform', 'Staff Engineer']);

    const demoted = await exchange(await codeFrom(await postAcs(idp.responseXml(aliceSays({ attributes: { ...attributes, groups: ['contractors'] } })))));
    assert.equal(demoted.user.role, 'guest');
    assert.equal(demoted.user.id, session.user.id);
  });

  it('department and title land on the org chart: the department is found by name under the root, or made there', async () => {
    const says = (nameId: string, email: string, displayName: string, extra: Record<string, string> = {}): ResponseOptions => ({
      nameId,
      attributes: { email, displayName, groups: ['staff'], ...extra },
    });
    const carol = await exchange(await codeFrom(await postAcs(idp.responseXml(says('idp-user-0301', 'carol.sso@corp.example', '최민지', { department: '디자인팀', title: '수석 디자이너' })))));
    const dave = await exchange(await codeFrom(await postAcs(idp.responseXml(says('idp-user-0302', 'dave.sso@corp.example', 'Dave Park', { department: '디자인팀', title: '디자이너' })))));

    const departments = async () => (await server.request<{ departments: Department[] }>('GET', '/api/v1/org/departments', undefined, carol.token)).departments;
    const design = (await departments()).filter((d) => d.name === '디자인팀');
    assert.equal(design.length, 1, 'the second person finds the department the first one made');
    assert.equal(design[0]!.parentId, null);
    assert.equal(design[0]!.memberCount, 2);
    const team = await server.request<{ members: Person[] }>('GET', `/api/v1/org/departments/${design[0]!.id}`, undefined, dave.token);
    assert.deepEqual(team.members.map((p) => [p.displayName, p.title]).sort(), [['Dave Park', '디자이너'], ['최민지', '수석 디자이너']]);
    const profile = await server.request<Profile>('GET', `/api/v1/org/people/${carol.user.id}`, undefined, dave.token);
    assert.deepEqual(profile.departmentPath.map((d) => d.name), ['디자인팀']);
    assert.equal(profile.title, '수석 디자이너');
    assert.equal(profile.source, 'saml');
    const found = await server.request<{ people: Person[] }>('GET', `/api/v1/org/people?query=${encodeURIComponent('민지')}`, undefined, dave.token);
    assert.deepEqual(found.people.map((p) => p.userId), [carol.user.id]);

    // Moved to an existing department (made by Alice's sign-in), and the IdP no longer sends a title.
    await exchange(await codeFrom(await postAcs(idp.responseXml(says('idp-user-0301', 'carol.sso@corp.example', '최민지', { department: 'Platform' })))));
    const moved = await server.request<Profile>('GET', `/api/v1/org/people/${carol.user.id}`, undefined, dave.token);
    assert.deepEqual(moved.departmentPath.map((d) => d.name), ['Platform']);
    assert.equal(moved.title, null);
    assert.equal((await departments()).find((d) => d.name === '디자인팀')?.memberCount, 1);
    const events = await audit();
    assert.equal(events.filter((e) => e.action === 'sso.department_added' && e.details.name === '디자인팀').length, 1);
    assert.ok(events.some((e) => e.action === 'sso.user_updated' && e.target === carol.user.id && JSON.stringify(e.details.changed) === JSON.stringify(['department', 'title'])));
  });

  it('the code exchange enrols the device like a password sign-in: none is refused, the same key is the same device, a new one may wait for approval', async () => {
    const noDevice = await server.request('POST', '/api/v1/auth/sso/exchange', { code: await codeFrom(await postAcs(idp.responseXml(aliceSays()))) }).catch((err: unknown) => err);
    assert.equal((noDevice as { status: number }).status, 401);
    assert.equal((noDevice as { body: { details: { reason: string } } }).body.details.reason, 'device_required');

    const laptop = TestDevice.generate();
    const first = await exchange(await codeFrom(await postAcs(idp.responseXml(aliceSays()))), laptop);
    const again = await exchange(await codeFrom(await postAcs(idp.responseXml(aliceSays()))), laptop);
    assert.equal(again.device.deviceId, first.device.deviceId);

    await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: true }, adminToken);
    try {
      const phone = TestDevice.generate();
      const pending = await exchange<DevicePending>(await codeFrom(await postAcs(idp.responseXml(aliceSays()))), phone);
      assert.equal(pending.devicePending, true);
      assert.equal('token' in pending, false, 'a device waiting for approval gets no access token');
      // The device enrolled before the policy still signs in.
      assert.ok((await exchange(await codeFrom(await postAcs(idp.responseXml(aliceSays()))), laptop)).token);
    } finally {
      await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: false }, adminToken);
    }
  });

  describe('refusals: each a typed error with its reason and an audit entry, and no one signed in', () => {
    const mallory = { nameId: 'mallory-1', email: 'mallory@corp.example' };
    const evil = (id?: string) => idp.assertion({ nameId: mallory.nameId, attributes: { email: mallory.email, displayName: 'Mallory' } }, id);

    const expectRefused = async (xml: string, reason: string) => {
      const before = (await audit()).filter((e) => e.action === 'sso.refused' && e.details.reason === reason).length;
      const res = await postAcs(xml);
      assert.deepEqual(await refusal(res), { status: 401, code: 'unauthenticated', reason });
      const after = (await audit()).filter((e) => e.action === 'sso.refused' && e.details.reason === reason).length;
      assert.equal(after, before + 1, `one sso.refused audit entry with reason ${reason}`);
    };

    it('tampered: an attribute changed after signing', async () => {
      const xml = idp.responseXml(aliceSays()).replace('>Alice Kim<', '>Mallory<');
      assert.ok(xml.includes('>Mallory<'));
      await expectRefused(xml, 'tampered');
    });

    it('unsigned: no signature at all, or the assertion signed but not the response', async () => {
      await expectRefused(idp.responseXml(aliceSays({ sign: 'none' })), 'unsigned');
      await expectRefused(idp.responseXml(aliceSays({ sign: 'assertion' })), 'unsigned');
    });

    it('expired: NotOnOrAfter passed (beyond the clock skew), of the Conditions or of the bearer confirmation', async () => {
      await expectRefused(idp.responseXml(aliceSays({ notOnOrAfter: Date.now() - 5 * 60_000 })), 'expired');
      await expectRefused(idp.responseXml(aliceSays({ confirmationNotOnOrAfter: Date.now() - 5 * 60_000 })), 'expired');
    });

    it('wrong audience, destination and recipient', async () => {
      await expectRefused(idp.responseXml(aliceSays({ audience: 'https://other-sp.example/metadata' })), 'wrong_audience');
      await expectRefused(idp.responseXml(aliceSays({ destination: 'https://other-sp.example/acs' })), 'wrong_destination');
      await expectRefused(idp.responseXml(aliceSays({ recipient: 'https://other-sp.example/acs' })), 'wrong_recipient');
    });

    it('wrong issuer: another entity id, even signed with the trusted key', async () => {
      await expectRefused(idp.responseXml(aliceSays({ issuer: 'https://other-idp.example/saml' })), 'wrong_issuer');
    });

    it('replayed: the same assertion a second time', async () => {
      const xml = idp.responseXml(aliceSays());
      await codeFrom(await postAcs(xml));
      await expectRefused(xml, 'replayed');
    });

    it('an answer to an AuthnRequest this SP never sent, or one already answered', async () => {
      await expectRefused(idp.responseXml(aliceSays({ inResponseTo: samlId() })), 'unknown_request');
      const requestId = await startLogin();
      await codeFrom(await postAcs(idp.responseXml(aliceSays({ inResponseTo: requestId }))));
      await expectRefused(idp.responseXml(aliceSays({ inResponseTo: requestId })), 'unknown_request');
    });

    it('signed by a key the SP does not trust', async () => {
      await expectRefused(idp.responseXml(aliceSays({ keys: makeKeyPair('rogue-idp') })), 'untrusted_key');
    });

    it('signature wrapping: an unsigned assertion beside, around or inside the signed one', async () => {
      const signedAssertion = signElement(idp.assertion(aliceSays()), 'Assertion', idp.keys);
      const id = /ID="([^"]+)"/.exec(signedAssertion)![1]!;
      const signedResponse = idp.responseXml(aliceSays());
      const variants = {
        // The evil assertion first, the signed one after it, in a response signed as a whole.
        injectedBefore: signElement(idp.envelope(evil() + signedAssertion), 'Response', idp.keys),
        // The evil assertion after the signed one, nothing re-signed.
        injectedAfter: idp.envelope(signedAssertion + evil()),
        // XSW: the evil assertion takes the signed one's ID and place; the signed one hides in Extensions.
        movedToExtensions: idp.envelope(`<samlp:Extensions>${signedAssertion}</samlp:Extensions>${evil(id)}`),
        // XSW: the signed assertion inside the evil one's Signature Object.
        insideEvilSignature: idp.envelope(evil(id).replace('</saml:Issuer>', `</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Object>${signedAssertion}</ds:Object></ds:Signature>`)),
        // XSW on the response: the whole signed response wrapped by an evil one.
        wrappedResponse: idp.envelope(`<samlp:Extensions>${signedResponse.replace(/^<\?xml[^>]*>/, '')}</samlp:Extensions>${evil()}`),
      };
      for (const [name, xml] of Object.entries(variants)) {
        const res = await postAcs(xml);
        assert.deepEqual(await refusal(res), { status: 401, code: 'unauthenticated', reason: 'signature_wrapping' }, name);
      }
      const users = await server.request<{ users: User[] }>('GET', '/api/v1/users?limit=500', undefined, adminToken);
      assert.ok(!users.users.some((u) => u.email === mallory.email), 'the injected identity never got an account');
      const wrapped = (await audit()).filter((e) => e.action === 'sso.refused' && e.details.reason === 'signature_wrapping');
      assert.ok(wrapped.length >= Object.keys(variants).length);
    });

    it('a browser is sent back to the app with the reason instead', async () => {
      const res = await postAcs(idp.responseXml(aliceSays({ sign: 'none' })), 'text/html');
      assert.equal(res.status, 303);
      assert.equal(new URL(res.headers.get('location')!).hash, '#/sso?error=unsigned');
    });
  });

  it('IdP-initiated single logout ends the user\'s sessions, renewals included; an unsigned LogoutRequest is refused', async () => {
    const device = TestDevice.generate();
    const session = await exchange(await codeFrom(await postAcs(idp.responseXml(aliceSays({ sessionIndex: 'idx-1' })))), device);
    const refresh = () => server.request<SessionGranted>('POST', '/api/v1/auth/refresh', device.refreshBody(session.device.deviceId, session.device.credential));
    assert.ok((await refresh()).token, 'before the logout the device renews');
    await server.request('GET', '/api/v1/me', undefined, session.token);

    const forged = idp.logoutRequest(alice.nameId, 'idx-1', false);
    const refused = await fetch(local(idp.sloEndpoint), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLRequest: b64(forged.xml) }) });
    assert.deepEqual(await refusal(refused), { status: 401, code: 'unauthenticated', reason: 'unsigned' });
    await server.request('GET', '/api/v1/me', undefined, session.token);

    const logout = idp.logoutRequest(alice.nameId, 'idx-1');
    const res = await fetch(local(idp.sloEndpoint), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLRequest: b64(logout.xml) }) });
    assert.equal(res.status, 302);
    const { doc } = redirectMessage(res.headers.get('location')!, 'SAMLResponse');
    assert.equal(doc.documentElement!.localName, 'LogoutResponse');
    assert.equal(doc.documentElement!.getAttribute('InResponseTo'), logout.id);
    assert.match(doc.documentElement!.toString(), /status:Success/);
    await assert.rejects(server.request('GET', '/api/v1/me', undefined, session.token), { status: 401 });
    // The device's credential no longer renews: the app cannot sign itself back in without the IdP.
    await assert.rejects(refresh(), (err: { status: number; body: { details: { reason: string } } }) => err.status === 401 && err.body.details.reason === 'credential_invalid');
    assert.ok((await audit()).some((e) => e.action === 'sso.logout' && e.target === session.user.id && e.details.initiatedBy === 'idp'));
    // Not revoked: the next SSO sign-in from the same key is the same device.
    const back = await exchange(await codeFrom(await postAcs(idp.responseXml(aliceSays()))), device);
    assert.equal(back.device.deviceId, session.device.deviceId);

    const again = await fetch(local(idp.sloEndpoint), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLRequest: b64(logout.xml) }) });
    assert.equal((await refusal(again)).reason, 'replayed');
  });

  it('single logout by the HTTP-Redirect binding: only a signed query is obeyed', async () => {
    const session = await exchange(await codeFrom(await postAcs(idp.responseXml(aliceSays({ sessionIndex: 'idx-r' })))));
    const unsigned = await fetch(`${local(idp.sloEndpoint)}?${idp.logoutRedirectQuery(idp.logoutRequest(alice.nameId, 'idx-r', false).xml, false)}`, { redirect: 'manual' });
    assert.deepEqual(await refusal(unsigned), { status: 401, code: 'unauthenticated', reason: 'unsigned' });
    await server.request('GET', '/api/v1/me', undefined, session.token);
    const logout = idp.logoutRequest(alice.nameId, 'idx-r', false);
    const res = await fetch(`${local(idp.sloEndpoint)}?${idp.logoutRedirectQuery(logout.xml)}`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(redirectMessage(res.headers.get('location')!, 'SAMLResponse').doc.documentElement!.getAttribute('InResponseTo'), logout.id);
    await assert.rejects(server.request('GET', '/api/v1/me', undefined, session.token), { status: 401 });
  });

  it('two nodes on one store: a code from one is exchanged at the other, and an assertion used at one is a replay at the other', { skip: testDatabaseUrl() ? false : 'needs PostgreSQL (SOTONG_TEST_DATABASE_URL)' }, async () => {
    const second = await spawnServer({ env: { PUBLIC_URL, SOTONG_SAML: idp.settings(), ...server.storeEnv } });
    try {
      const xml = idp.responseXml(aliceSays());
      const code = await codeFrom(await postAcs(xml));
      const session = await exchangeAt(second, code);
      assert.equal(session.user.email, alice.email);
      assert.deepEqual(await refusal(await postAcs(xml, 'application/json', second.httpUrl)), { status: 401, code: 'unauthenticated', reason: 'replayed' });
    } finally {
      await second.kill('SIGTERM');
    }
  });

  it('SP-initiated single logout: the session ends and the IdP gets a LogoutRequest for the subject, whose answer is checked', async () => {
    const session = await exchange(await codeFrom(await postAcs(idp.responseXml(aliceSays({ sessionIndex: 'idx-2' })))));
    const { redirect } = await server.request<{ redirect: string }>('POST', '/api/v1/auth/saml/logout', {}, session.token);
    await assert.rejects(server.request('GET', '/api/v1/me', undefined, session.token), { status: 401 });
    assert.ok(redirect.startsWith(`${idp.sloUrl}?`));
    const { doc } = redirectMessage(redirect, 'SAMLRequest');
    const request = doc.documentElement!;
    assert.equal(request.localName, 'LogoutRequest');
    assert.equal(request.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'NameID')[0]?.textContent, alice.nameId);
    assert.equal(request.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:protocol', 'SessionIndex')[0]?.textContent, 'idx-2');

    const answer = idp.logoutResponse(request.getAttribute('ID')!);
    const res = await fetch(local(idp.sloEndpoint), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLResponse: b64(answer) }) });
    assert.equal(res.status, 303);
    assert.equal(new URL(res.headers.get('location')!).hash, '#/sso?loggedOut=1');
    const replayed = await fetch(local(idp.sloEndpoint), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLResponse: b64(answer) }) });
    assert.equal((await refusal(replayed)).reason, 'unknown_request', 'an answer counts once');
    const unasked = idp.logoutResponse(samlId());
    const refused = await fetch(local(idp.sloEndpoint), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLResponse: b64(unasked) }) });
    assert.equal((await refusal(refused)).reason, 'unknown_request');
  });

  it('a deactivated user cannot sign in by SSO', async () => {
    const session = await exchange(await codeFrom(await postAcs(idp.responseXml(aliceSays()))));
    await server.request('POST', `/api/v1/admin/users/${session.user.id}/deactivate`, {}, adminToken);
    const res = await postAcs(idp.responseXml(aliceSays()));
    assert.deepEqual(await refusal(res), { status: 401, code: 'unauthenticated', reason: 'deactivated' });
  });
});

describe('SAML with an IdP that signs only the assertion (Azure AD by default), not trusted for MFA', () => {
  let server: SpawnedServer;
  let idp: TestIdp;
  const bob = { nameId: 'idp-user-0002', email: 'bob.sso@corp.example' };
  const bobSays = (extra: Partial<ResponseOptions> = {}): ResponseOptions => ({ nameId: bob.nameId, attributes: { email: bob.email, displayName: 'Bob Lee' }, sign: 'assertion', ...extra });

  const postAcs = (xml: string) =>
    fetch(`${server.httpUrl}/api/v1/auth/saml/acs`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ SAMLResponse: b64(xml) }) });
  /** SP-initiated: this server refuses unsolicited responses. */
  const requestId = async () => {
    const res = await fetch(`${server.httpUrl}/api/v1/auth/saml/login`, { redirect: 'manual' });
    return redirectMessage(res.headers.get('location')!, 'SAMLRequest').doc.documentElement!.getAttribute('ID')!;
  };
  const signIn = async (options: Partial<ResponseOptions> = {}) => {
    const res = await postAcs(idp.responseXml(bobSays({ inResponseTo: await requestId(), ...options })));
    assert.equal(res.status, 303, await res.clone().text());
    const code = decodeURIComponent(/code=([^&]+)/.exec(res.headers.get('location')!)![1]!);
    return server.request<{ token?: string; mfa?: string; challenge?: string }>('POST', '/api/v1/auth/sso/exchange', { code, device: TestDevice.generate().enrolment() });
  };
  const reasonOf = async (xml: string) => {
    const res = await postAcs(xml);
    assert.equal(res.status, 401);
    return ((await res.json()) as { details: { reason: string } }).details.reason;
  };

  before(async () => {
    idp = new TestIdp(PUBLIC_URL);
    server = await spawnServer({ env: { PUBLIC_URL, SOTONG_SAML: idp.settings({ wantResponseSigned: false, trustIdpMfa: false, allowIdpInitiated: false }) } });
  });
  after(() => server?.stop());

  it('accepts a signed assertion in an unsigned response, and still refuses an unsigned or tampered assertion', async () => {
    assert.ok((await signIn()).token);
    assert.equal(await reasonOf(idp.responseXml(bobSays({ sign: 'none' }))), 'unsigned');
    assert.equal(await reasonOf(idp.responseXml(bobSays()).replace('>Bob Lee<', '>Mallory<')), 'tampered');
  });

  it('refuses every wrapping of the signed assertion, with no response signature to lean on', async () => {
    const signedAssertion = signElement(idp.assertion(bobSays()), 'Assertion', idp.keys);
    const id = /ID="([^"]+)"/.exec(signedAssertion)![1]!;
    const evil = (withId?: string) => idp.assertion({ nameId: 'mallory-2', attributes: { email: 'mallory2@corp.example', displayName: 'Mallory' } }, withId);
    const variants = [
      idp.envelope(evil() + signedAssertion),
      idp.envelope(signedAssertion + evil()),
      idp.envelope(`<samlp:Extensions>${signedAssertion}</samlp:Extensions>${evil(id)}`),
      idp.envelope(evil(id).replace('</saml:Issuer>', `</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Object>${signedAssertion}</ds:Object></ds:Signature>`)),
      idp.envelope(`<samlp:Extensions>${idp.envelope(signedAssertion)}</samlp:Extensions>${evil()}`),
    ];
    for (const [i, xml] of variants.entries()) assert.equal(await reasonOf(xml), 'signature_wrapping', `variant ${i}`);
  });

  it('with IdP-initiated sign-in turned off, an unsolicited response is refused, also one stripped of its InResponseTo', async () => {
    assert.equal(await reasonOf(idp.responseXml(bobSays())), 'unsolicited');
    const stripped = idp.envelope(signElement(idp.assertion(bobSays({ inResponseTo: await requestId() })), 'Assertion', idp.keys));
    assert.ok(!/<samlp:Response[^>]*InResponseTo/.test(stripped));
    assert.equal(await reasonOf(stripped), 'unknown_request');
  });

  it('with the IdP not trusted for MFA, the workspace 2FA policy still applies after SSO', async () => {
    const admin = await server.login(server.admin.email, server.admin.password);
    await server.request('PUT', '/api/v1/admin/policy', { mfaRequired: true }, admin);
    const step = await signIn();
    assert.equal(step.token, undefined);
    assert.equal(step.mfa, 'enroll');
    assert.ok(step.challenge);
  });
});
