import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, LoginResult, SessionGranted, User } from '@sotong/protocol';
import type { Browser } from 'playwright-core';
import { authenticatorPage, launchChromium, type AuthenticatorPage } from './support/browser.js';
import { authHeaders, person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { rememberDevice, TEST_PASSWORD, TestDevice } from '../src/testing.js';

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  body: Json;
}

describe('passkeys with a real browser and a virtual authenticator', () => {
  let server: SpawnedServer;
  let origin: string;
  let browser: Browser;
  let device: AuthenticatorPage;
  let admin: string;
  let alice: Person;

  before(async () => {
    server = await spawnServer();
    // localhost is a secure context, and the RP ID a passkey is bound to must be a domain, not an IP.
    origin = server.httpUrl.replace('127.0.0.1', 'localhost');
    browser = await launchChromium();
    device = await authenticatorPage(browser, origin);
    admin = await server.login(server.admin.email, server.admin.password);
    alice = await person(server, 'Alice');
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const post = async (path: string, body: unknown, token?: string): Promise<Answer> => {
    const res = await fetch(`${server.httpUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? authHeaders(token, 'POST', path) : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const audit = async () => (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=500', undefined, admin)).events;

  /**
   * The whole registration inside the page, as a web client does it. Each call is a device-signed
   * request; the test signs them here (a web client's device key would, in the page) and the page sends them.
   */
  const register = (page: AuthenticatorPage, token: string, name: string) => {
    const signed = { options: authHeaders(token, 'POST', '/api/v1/auth/passkeys/options'), finish: authHeaders(token, 'POST', '/api/v1/auth/passkeys') };
    return page.page.evaluate(
      async ({ signed, name }) => {
        const call = (path: string, headers: Record<string, string>, body: unknown) =>
          fetch(path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({
            status: r.status,
            body: await r.json(),
          }));
        const start = await call('/api/v1/auth/passkeys/options', signed.options, {});
        if (start.status !== 200) return start;
        const credential = (await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(start.body.options) })) as PublicKeyCredential;
        return call('/api/v1/auth/passkeys', signed.finish, { ceremony: start.body.ceremony, response: credential.toJSON(), name });
      },
      { signed, name },
    );
  };

  /** The browser answers a sign-in challenge with its authenticator: the assertion as JSON. */
  const assertion = (page: AuthenticatorPage, options: Json) =>
    page.page.evaluate(async (options) => {
      const credential = (await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options as never) })) as PublicKeyCredential;
      return credential.toJSON() as Json;
    }, options);

  const passwordStep = async (email: string, device = TestDevice.generate()) => (await server.signIn(email, TEST_PASSWORD, device)) as LoginResult & Json;

  /** A session answer's token is remembered with the device it was issued to, so `server.request` signs for it. */
  const sessionOf = (answer: Answer, device: TestDevice): SessionGranted => {
    const session = answer.body as unknown as SessionGranted;
    rememberDevice(session.token, device);
    return session;
  };

  const signInWithSecondFactor = async (page: AuthenticatorPage, email: string, device = TestDevice.generate()) => {
    const step = await passwordStep(email);
    assert.ok('challenge' in step, 'the password step asks for a second factor');
    const options = await post('/api/v1/auth/login/passkey/options', { challenge: step.challenge });
    assert.equal(options.status, 200, JSON.stringify(options.body));
    const response = await assertion(page, options.body.options as Json);
    const answer = await post('/api/v1/auth/login/passkey', { challenge: step.challenge, ceremony: options.body.ceremony, response, device: device.enrolment() });
    return { challenge: step.challenge, ceremony: options.body.ceremony as string, response, answer, device };
  };

  it('registers a passkey for a signed-in user, audited', async () => {
    const registered = await register(device, alice.token, 'Laptop');
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
    assert.equal(registered.body.name, 'Laptop');
    const list = await server.request<{ passkeys: { id: string }[] }>('GET', '/api/v1/auth/passkeys', undefined, alice.token);
    assert.deepEqual(list.passkeys.map((p) => p.id), [registered.body.id]);
    const { credentials } = await device.cdp.send('WebAuthn.getCredentials', { authenticatorId: device.authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0]!.rpId, 'localhost');
    assert.equal(credentials[0]!.isResidentCredential, true);
    assert.ok((await audit()).some((e) => e.action === 'passkey.registered' && e.actorId === alice.user.id));

    // The options exclude the passkeys the account has, so the same authenticator cannot register twice.
    await assert.rejects(register(device, alice.token, 'Laptop again'), /InvalidStateError/);
  });

  /** Alice's computer: one device key across her sign-ins, whatever the factor. */
  const aliceLaptop = TestDevice.generate();
  let laptopId: string;

  it('is the second factor after the password, in place of a TOTP code', async () => {
    const step = await passwordStep(alice.user.email);
    assert.equal(step.mfa, 'passkey');
    assert.deepEqual(step.factors, ['passkey']);
    assert.ok(!('token' in step), 'no session from the password alone');
    const code = await post('/api/v1/auth/login/code', { challenge: step.challenge, code: '123456' });
    assert.equal(code.status, 401, 'there is no TOTP to finish this sign-in with');

    const { answer, device: laptop } = await signInWithSecondFactor(device, alice.user.email, aliceLaptop);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const session = sessionOf(answer, laptop);
    assert.ok(session.device.deviceId && session.device.credential, 'the device is enrolled as at a password sign-in');
    assert.equal((await server.request<User>('GET', '/api/v1/me', undefined, session.token)).id, alice.user.id);
    const entry = (await audit()).find((e) => e.action === 'login.succeeded' && e.actorId === alice.user.id && (e.details as Json).factor === 'passkey');
    assert.ok(entry, 'the sign-in is audited with its factor');
    assert.equal((entry.details as Json).deviceId, session.device.deviceId);
    laptopId = session.device.deviceId;
  });

  it('refuses a replayed assertion, whether with its own ceremony or a new one, and audits it', async () => {
    const first = await signInWithSecondFactor(device, alice.user.email);
    assert.equal(first.answer.status, 200);
    const sameAgain = await post('/api/v1/auth/login/passkey', { challenge: first.challenge, ceremony: first.ceremony, response: first.response });
    assert.equal(sameAgain.status, 401);
    assert.equal(sameAgain.body.code, 'unauthenticated');

    // A fresh sign-in, answered with the old assertion: it signed another challenge.
    const step = await passwordStep(alice.user.email);
    assert.ok('challenge' in step);
    const options = await post('/api/v1/auth/login/passkey/options', { challenge: step.challenge });
    const replayed = await post('/api/v1/auth/login/passkey', { challenge: step.challenge, ceremony: options.body.ceremony, response: first.response });
    assert.equal(replayed.status, 401);
    assert.equal(replayed.body.code, 'unauthenticated');
    const reasons = (await audit()).filter((e) => e.action === 'login.failed' && e.actorId === alice.user.id).map((e) => (e.details as Json).reason);
    assert.ok(reasons.includes('bad_passkey_signature'), `audited reasons: ${reasons.join(', ')}`);
  });

  it('signs in without a password: the authenticator offers its discoverable passkey, with user verification', async () => {
    const options = await post('/api/v1/auth/passkey/options', {});
    assert.equal(options.status, 200);
    assert.equal((options.body.options as Json).userVerification, 'required');
    const response = await assertion(device, options.body.options as Json);
    const answer = await post('/api/v1/auth/passkey', { ceremony: options.body.ceremony, response, device: aliceLaptop.enrolment() });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const session = sessionOf(answer, aliceLaptop);
    assert.equal(session.user.id, alice.user.id);
    assert.equal((await server.request<User>('GET', '/api/v1/me', undefined, session.token)).id, alice.user.id);
    const replay = await post('/api/v1/auth/passkey', { ceremony: options.body.ceremony, response, device: aliceLaptop.enrolment() });
    assert.equal(replay.status, 401, 'the ceremony is used once');
    const entry = (await audit()).find((e) => e.action === 'login.succeeded' && e.actorId === alice.user.id && (e.details as Json).factor === 'passkey_passwordless');
    assert.ok(entry);
    assert.equal((entry.details as Json).deviceId, session.device.deviceId);
    assert.equal(session.device.deviceId, laptopId, 'the same device key as her second-factor sign-in: the same device');
  });

  it('a passkey sign-in names its device like a password sign-in: without one it is refused, under the approval policy the device waits', async () => {
    const bare = await post('/api/v1/auth/passkey/options', {});
    const refused = await post('/api/v1/auth/passkey', { ceremony: bare.body.ceremony, response: await assertion(device, bare.body.options as Json) });
    assert.equal(refused.status, 401);
    assert.equal((refused.body.details as Json).reason, 'device_required');

    await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: true }, admin);
    try {
      const options = await post('/api/v1/auth/passkey/options', {});
      const phone = TestDevice.generate();
      const pending = await post('/api/v1/auth/passkey', { ceremony: options.body.ceremony, response: await assertion(device, options.body.options as Json), device: phone.enrolment() });
      assert.equal(pending.status, 200, JSON.stringify(pending.body));
      assert.equal(pending.body.devicePending, true);
      assert.equal(pending.body.token, undefined, 'no access token for a device waiting for approval');
      const { answer } = await signInWithSecondFactor(device, alice.user.email, TestDevice.generate());
      assert.equal(answer.body.devicePending, true, 'nor as second factor');
    } finally {
      await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: false }, admin);
    }
  });

  it('refuses a cloned authenticator whose sign counter went back', async () => {
    const { credentials } = await device.cdp.send('WebAuthn.getCredentials', { authenticatorId: device.authenticatorId });
    const original = credentials[0]!;
    assert.ok(original.signCount >= 3, `the authenticator counted its uses (${original.signCount})`);
    // A second device holding a copy of the same private key, made before most of those uses.
    const clone = await authenticatorPage(browser, origin);
    try {
      await clone.cdp.send('WebAuthn.addCredential', { authenticatorId: clone.authenticatorId, credential: { ...original, signCount: 0 } });
      const options = await post('/api/v1/auth/passkey/options', {});
      const response = await assertion(clone, options.body.options as Json);
      const answer = await post('/api/v1/auth/passkey', { ceremony: options.body.ceremony, response });
      assert.equal(answer.status, 401);
      assert.match(String(answer.body.message), /cloned/);
      assert.ok((await audit()).some((e) => e.action === 'login.failed' && e.actorId === alice.user.id && (e.details as Json).reason === 'passkey_counter_regressed'));
    } finally {
      await clone.close();
    }
    // The genuine authenticator, further ahead, still works.
    const { answer } = await signInWithSecondFactor(device, alice.user.email);
    assert.equal(answer.status, 200);
  });

  it('refuses a passkey from another account as the second factor, and unknown ceremonies', async () => {
    const bob = await person(server, 'Bob');
    const bobDevice = await authenticatorPage(browser, origin);
    try {
      assert.equal((await register(bobDevice, bob.token, 'Phone')).status, 200);
      const step = await passwordStep(alice.user.email);
      assert.ok('challenge' in step);
      const options = await post('/api/v1/auth/login/passkey/options', { challenge: step.challenge });
      // Bob's authenticator cannot answer for Alice's credentials; give it a request naming none.
      const response = await assertion(bobDevice, { ...(options.body.options as Json), allowCredentials: [] });
      const answer = await post('/api/v1/auth/login/passkey', { challenge: step.challenge, ceremony: options.body.ceremony, response });
      assert.equal(answer.status, 401);
      assert.equal(answer.body.code, 'unauthenticated');
    } finally {
      await bobDevice.close();
    }
    const unknown = await post('/api/v1/auth/passkey', { ceremony: 'wa_nope', response: { id: 'x', rawId: 'x', type: 'public-key', response: {} } });
    assert.equal(unknown.status, 401);
  });

  it('removes a passkey (audited); the password alone signs in again', async () => {
    const list = await server.request<{ passkeys: { id: string }[] }>('GET', '/api/v1/auth/passkeys', undefined, alice.token);
    for (const { id } of list.passkeys) await server.request('DELETE', `/api/v1/auth/passkeys/${encodeURIComponent(id)}`, undefined, alice.token);
    await assert.rejects(server.request('DELETE', `/api/v1/auth/passkeys/${encodeURIComponent(list.passkeys[0]!.id)}`, undefined, alice.token), /404 not_found/);
    assert.ok((await audit()).some((e) => e.action === 'passkey.removed' && e.actorId === alice.user.id));
    assert.ok('token' in (await passwordStep(alice.user.email)));
  });
});
