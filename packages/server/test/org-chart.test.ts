import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Person, Profile, User } from '@sotong/protocol';
import { person, spawnServer, type Person as TestPerson, type SpawnedServer } from './support/fixtures.js';
import { CommandError } from './support/frame-client.js';
import { TestDevice } from '../src/testing.js';

/** The org chart without a directory: local accounts, over REST and the socket, and in the OpenAPI document. */
describe('org chart (local accounts)', () => {
  let server: SpawnedServer;
  let member: TestPerson;
  let guest: TestPerson;
  let younghee: User;

  before(async () => {
    server = await spawnServer();
    member = await person(server, 'Member');
    guest = await person(server, 'Guest', 'guest');
    younghee = await server.createUser('younghee@sotong.test', '이영희');
  });
  after(() => server?.stop());

  it('the REST routes are in the OpenAPI document, from the command table', async () => {
    const doc = (await (await fetch(`${server.httpUrl}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId?: string }>> };
    assert.equal(doc.paths['/api/v1/org/departments']?.get?.operationId, 'org.departments');
    assert.equal(doc.paths['/api/v1/org/departments/{departmentId}']?.get?.operationId, 'org.department');
    assert.equal(doc.paths['/api/v1/org/people']?.get?.operationId, 'org.search');
    assert.equal(doc.paths['/api/v1/org/people/{userId}']?.get?.operationId, 'org.person');
    assert.ok(doc.paths['/api/v1/admin/directory/sync']?.post);
  });

  it('search and profiles work over the socket with the same rules as REST', async () => {
    const socket = await member.connect();
    const { people } = await socket.call<{ people: Person[] }>('org.search', { query: '영희' });
    assert.deepEqual(people.map((p) => p.userId), [younghee.id]);
    const profile = await socket.call<Profile>('org.person', { userId: younghee.id });
    assert.equal(profile.source, null);
    assert.equal(profile.title, null);
    socket.close();

    const guestSocket = await guest.connect();
    await assert.rejects(guestSocket.call('org.search', { query: '영희' }), (err: CommandError) => err.code === 'forbidden');
    await assert.rejects(guestSocket.call('org.person', { userId: younghee.id }), (err: CommandError) => err.code === 'not_found');
    assert.equal((await guestSocket.call<Profile>('org.person', { userId: guest.user.id })).userId, guest.user.id);
    await assert.rejects(guestSocket.call('org.search', { query: '' }), (err: CommandError) => err.code === 'bad_request');
    guestSocket.close();
  });

  it('the org routes and the directory admin API need the device proof like every route', async () => {
    const adminToken = await server.adminToken();
    const routes: [string, string][] = [
      ['GET', '/api/v1/org/departments'],
      ['GET', `/api/v1/org/people/${younghee.id}`],
      ['GET', `/api/v1/org/people?query=${encodeURIComponent('영희')}`],
      ['GET', '/api/v1/admin/directory'],
      ['POST', '/api/v1/admin/directory/sync'],
    ];
    for (const [method, path] of routes) {
      const token = path.includes('/admin/') ? adminToken : member.token;
      const bare = await fetch(`${server.httpUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
      assert.equal(bare.status, 401, `${method} ${path} without a proof`);
      assert.equal(((await bare.json()) as { details?: { reason?: string } }).details?.reason, 'proof_missing');
      const forged = await fetch(`${server.httpUrl}${path}`, { method, headers: TestDevice.generate().requestHeaders(token, method, path) });
      assert.equal(forged.status, 401, `${method} ${path} signed by another key`);
    }
    assert.equal((await server.request<{ people: Person[] }>('GET', `/api/v1/org/people?query=${encodeURIComponent('영희')}`, undefined, member.token)).people.length, 1);
    const audit = await server.request<{ events: { action: string; details: { reason?: string } }[] }>('GET', '/api/v1/admin/audit?limit=100', undefined, adminToken);
    assert.ok(audit.events.filter((e) => e.action === 'device.proof_refused').length >= routes.length * 2);
  });

  it('the directory admin API says when no directory is configured, after the permission check', async () => {
    const adminToken = await server.adminToken();
    await assert.rejects(server.request('POST', '/api/v1/admin/directory/sync', {}, member.token), { status: 403 });
    await assert.rejects(server.request('POST', '/api/v1/admin/directory/sync', {}, adminToken), { status: 404 });
  });
});
