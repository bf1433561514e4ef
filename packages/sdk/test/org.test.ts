import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { spawnServer, type SpawnedServer } from '@sotong/server/testing';
import { SotongError, type Device } from '@sotong/protocol';
import { departmentTree, OrgChart, SotongClient } from '../src/index.js';

const PASSWORD = 'a password for the sdk org tests';

describe('SDK org chart', () => {
  let server: SpawnedServer;
  const clients: SotongClient[] = [];

  const signIn = async (email: string) => {
    const client = await SotongClient.login(server.httpUrl, email, PASSWORD, { WebSocket });
    await client.connect();
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await spawnServer();
  });
  after(async () => {
    for (const client of clients) await client.close();
    await server?.stop();
  });

  it('finds people by a syllable of a Korean name or a Latin name, and reads a profile', async () => {
    const cheolsu = await server.createUser('cheolsu@sotong.test', '김철수', PASSWORD);
    await server.createUser('jane@sotong.test', 'Jane Doe', PASSWORD);
    const org = new OrgChart(await signIn('jane@sotong.test'));
    assert.deepEqual((await org.search('철수')).map((p) => p.displayName), ['김철수']);
    assert.deepEqual((await org.search('DOE')).map((p) => p.displayName), ['Jane Doe']);
    const profile = await org.person(cheolsu.id);
    assert.equal(profile.email, 'cheolsu@sotong.test');
    assert.deepEqual(profile.departmentPath, []);
    assert.equal(profile.manager, null);
    assert.deepEqual(await org.tree(), [], 'no directory: no departments');
  });

  it('the org chart answers a client signed in with a device key, and stops when that device is revoked', async () => {
    const hanna = await server.createUser('hanna@sotong.test', '정한나', PASSWORD);
    const client = await signIn('hanna@sotong.test');
    const org = new OrgChart(client);
    assert.equal((await org.person(hanna.id)).displayName, '정한나');
    const { devices } = await server.request<{ devices: Device[] }>('GET', `/api/v1/admin/users/${hanna.id}/devices`, undefined, await server.adminToken());
    assert.deepEqual(devices.map((d) => d.id), [client.session!.deviceId], 'the sign-in enrolled the key the client signs with');
    await server.request('DELETE', `/api/v1/devices/${client.session!.deviceId}`, undefined, await server.adminToken());
    for (let waited = 0; client.getState().status.state !== 'closed'; waited += 50) {
      assert.ok(waited < 10_000, 'the client stops once its device is revoked');
      await new Promise((r) => setTimeout(r, 50));
    }
    const status = client.getState().status;
    assert.equal(status.state === 'closed' ? (status.error?.details as { reason?: string } | undefined)?.reason : undefined, 'device_revoked');
    const refused = await org.search('한나').then(
      () => assert.fail('a revoked device must not read the org chart'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof SotongError);
  });

  it('a guest cannot search: a typed refusal', async () => {
    await server.createUser('guest@sotong.test', 'Guest', PASSWORD, 'guest');
    const org = new OrgChart(await signIn('guest@sotong.test'));
    const refused = await org.search('철수').then(
      () => assert.fail('a guest must not search the directory'),
      (err: unknown) => err,
    );
    assert.ok(refused instanceof SotongError);
    assert.equal(refused.code, 'forbidden');
  });

  it('assembles the flat department list into a tree', () => {
    const tree = departmentTree([
      { id: 'p', parentId: 'd', name: '플랫폼파트', memberCount: 1 },
      { id: 's', parentId: null, name: '영업팀', memberCount: 2 },
      { id: 'd', parentId: null, name: '개발팀', memberCount: 1 },
    ]);
    assert.deepEqual(
      tree.map((n) => [n.name, n.children.map((c) => c.name)]),
      [
        ['개발팀', ['플랫폼파트']],
        ['영업팀', []],
      ],
    );
  });
});
