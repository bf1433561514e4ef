import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { LongPollClient, TcpClient } from './support/frame-clients.js';
import { TestClient } from './support/ws-client.js';
import { deviceOf } from '../src/testing.js';
import { authHeaders, person, spawnServer, type SpawnedServer } from './support/fixtures.js';
import { CommandError } from './support/frame-client.js';

/** Limits hold the same on every transport, each with a typed error. */
describe('transport limits', () => {
  let server: SpawnedServer;

  before(async () => {
    server = await spawnServer({
      env: {
        SOTONG_TCP_PORT: '0',
        SOTONG_MQTT_PORT: '0',
        SOTONG_COMMANDS_PER_SECOND: '1',
        SOTONG_COMMAND_BURST: '3',
        SOTONG_USER_COMMANDS_PER_SECOND: '1',
        SOTONG_USER_COMMAND_BURST: '5',
        SOTONG_MAX_CONNECTIONS_PER_USER: '2',
        SOTONG_MAX_FRAME_BYTES: '2048',
      },
    });
  });
  after(() => server?.stop());

  const rateLimited = (scope?: string) => (e: CommandError) =>
    e.code === 'rate_limited' && (scope === undefined || (e.details as { scope?: string } | undefined)?.scope === scope);

  it('per connection: a burst past commandBurst is refused with rate_limited', async () => {
    const who = await person(server, 'Burst');
    const tcp = await TcpClient.connect(server.tcpPort!, who.token);
    for (let i = 0; i < 3; i++) await tcp.call('me.get');
    await assert.rejects(tcp.call('me.get'), rateLimited());
    tcp.close();
  });

  it("per user: one budget across all of a user's connections and transports", async () => {
    const who = await person(server, 'Shared');
    const tcp = await TcpClient.connect(server.tcpPort!, who.token);
    const lp = await LongPollClient.connect(server.httpUrl, who.token);
    for (let i = 0; i < 3; i++) await tcp.call('me.get');
    for (let i = 0; i < 2; i++) await lp.call('me.get');
    // Each connection is still within its own burst of 3; the user's 5 are spent.
    await assert.rejects(lp.call('me.get'), rateLimited('user'));
    tcp.close();
    lp.close();
  });

  it('max connections per user: the next sign-in is refused on any transport', async () => {
    const who = await person(server, 'Many');
    const first = await TestClient.connect(server.wsUrl, who.token);
    const second = await TcpClient.connect(server.tcpPort!, who.token);
    const third = await TcpClient.open(server.tcpPort!);
    await assert.rejects(third.auth(who.token), rateLimited());
    assert.equal((await third.waitForClose()).code, 4029);
    await assert.rejects(
      mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { protocolVersion: 5, username: deviceOf(who.token)!.mqttConnectProof(who.token), password: who.token, reconnectPeriod: 0 }),
      (e: { code?: number }) => e.code === 0x9f,
    );
    // A closed connection frees its place.
    first.close();
    await first.waitForClose();
    const again = await LongPollClient.connect(server.httpUrl, who.token);
    assert.equal(((await again.call('me.get')) as { id: string }).id, who.user.id);
    second.close();
    again.close();
  });

  it('max frame and payload size: typed too_large on long-poll and MQTT', async () => {
    const who = await person(server, 'Large');
    const lp = await LongPollClient.connect(server.httpUrl, who.token);
    const path = `/lp/${lp.id}/send`;
    const res = await fetch(`${server.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders(who.token, 'POST', path) }, body: 'x'.repeat(3000) });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { code: string }).code, 'too_large');
    lp.close();

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { protocolVersion: 5, username: deviceOf(who.token)!.mqttConnectProof(who.token), password: who.token, reconnectPeriod: 0 });
    const root = `sotong/v1/${who.user.workspaceId}/users/${who.user.id}`;
    const replies: { code?: string }[] = [];
    client.on('message', (_t, p) => replies.push(JSON.parse(p.toString()) as { code?: string }));
    await client.subscribeAsync(`${root}/replies`);
    await client.publishAsync(`${root}/cmd`, JSON.stringify({ id: 'big', cmd: 'me.get', pad: 'x'.repeat(2100) }), { qos: 0 });
    const started = Date.now();
    while (!replies.some((r) => r.code === 'too_large') && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(replies.some((r) => r.code === 'too_large'));
    await client.endAsync();
  });
});
