import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { spawnServer, type SpawnedServer } from '@sotong/server/testing';
import { SotongError } from '@sotong/protocol';
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
