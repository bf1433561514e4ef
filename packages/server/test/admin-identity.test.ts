import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Device } from '@sotong/protocol';
import { TEST_PASSWORD, TestDevice } from '../src/testing.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { TestIdp } from './support/saml-idp.js';

type IdentityStatus = { directory: boolean; saml: { idpEntityId: string; idpSsoUrl: string; spEntityId: string; metadataUrl: string } | null };

const refusal = (code: string) => (err: Error) => err.message.includes(code);

describe('admin identity status: directory and SSO set-up, and devices waiting for approval', () => {
  let server: SpawnedServer;
  let admin: string;
  let member: Person;

  before(async () => {
    server = await spawnServer();
    admin = await server.adminToken();
    member = await person(server, 'Mina');
  });
  after(async () => {
    await server?.stop();
  });

  it('says neither a directory nor SAML is configured, to admins only', async () => {
    assert.deepEqual(await server.request<IdentityStatus>('GET', '/api/v1/admin/identity', undefined, admin), { directory: false, saml: null });
    await assert.rejects(server.request('GET', '/api/v1/admin/identity', undefined, member.token), refusal('403'));
  });

  it('lists the devices waiting for approval while the policy is on, and drops one once approved', async () => {
    await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: true }, admin);
    const phone = TestDevice.generate();
    const answer = await server.signIn(member.user.email, TEST_PASSWORD, phone);
    assert.ok('devicePending' in answer, 'a new device waits');
    const { devices } = await server.request<{ devices: Device[] }>('GET', '/api/v1/admin/devices/pending', undefined, admin);
    assert.deepEqual(
      devices.map((d) => [d.id, d.userId, d.status]),
      [[answer.device.deviceId, member.user.id, 'pending']],
    );
    await assert.rejects(server.request('GET', '/api/v1/admin/devices/pending', undefined, member.token), refusal('403'));

    await server.request('POST', `/api/v1/devices/${answer.device.deviceId}/approve`, {}, admin);
    assert.deepEqual((await server.request<{ devices: Device[] }>('GET', '/api/v1/admin/devices/pending', undefined, admin)).devices, []);
    await server.request('PUT', '/api/v1/admin/policy/devices', { approvalRequired: false }, admin);
  });
});

describe('admin identity status with SAML configured', () => {
  let server: SpawnedServer;
  const idp = new TestIdp('https://sotong.example.test');

  before(async () => {
    server = await spawnServer({ env: { PUBLIC_URL: 'https://sotong.example.test', SOTONG_SAML: idp.settings() } });
  });
  after(async () => {
    await server?.stop();
  });

  it('names the IdP and where this service provider’s metadata is, and no secret', async () => {
    const status = await server.request<IdentityStatus>('GET', '/api/v1/admin/identity', undefined, await server.adminToken());
    assert.equal(status.directory, false);
    assert.deepEqual(status.saml, { idpEntityId: idp.entityId, idpSsoUrl: idp.ssoUrl, spEntityId: idp.spEntityId, metadataUrl: '/api/v1/auth/saml/metadata' });
    assert.doesNotMatch(JSON.stringify(status), /BEGIN|PRIVATE/);
  });
});
