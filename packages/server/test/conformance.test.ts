import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, ChannelView, Message } from '@sotong/protocol';
import mqtt from 'mqtt';
import { FrameClient } from './support/frame-client.js';
import { LongPollClient, MqttFrameClient, TcpClient, fetchTrusting } from './support/frame-clients.js';
import { TestClient } from './support/ws-client.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { CommandError } from './support/frame-client.js';

type Transport = 'websocket' | 'long-poll' | 'tcp' | 'mqtt';

/** Opens a signed-in client of one transport; `resume` carries the cursors (MQTT: the kept session does). */
async function open(server: SpawnedServer, transport: Transport, who: Person, clientId: string, channelId: string, cursors?: Record<string, number>): Promise<FrameClient> {
  const ca = server.tls?.ca;
  switch (transport) {
    case 'websocket':
      return TestClient.connect(server.wsUrl, who.token, cursors, ca);
    case 'long-poll':
      return LongPollClient.connect(server.httpUrl, who.token, cursors, ca ? fetchTrusting(ca) : fetch);
    case 'tcp':
      return TcpClient.connect(server.tcpPort!, who.token, ca, cursors);
    case 'mqtt': {
      const client = await MqttFrameClient.connect(`${ca ? 'mqtts' : 'mqtt'}://127.0.0.1:${server.mqttPort}`, who.token, who.user, clientId, ca);
      if (!cursors) {
        await client.subscribe(`sotong/v1/${who.user.workspaceId}/channels/${channelId}`);
        await client.subscribe(`${client.root}/#`);
      }
      return client;
    }
  }
}

/** Signs in with the token alone (no device proof); resolves with the refusal and how the connection ended. */
async function refusedWithoutProof(server: SpawnedServer, transport: Transport, who: Person): Promise<{ code: string; reason?: unknown; closed: number }> {
  const ca = server.tls?.ca;
  if (transport === 'mqtt') {
    const error = await mqtt
      .connectAsync(`${ca ? 'mqtts' : 'mqtt'}://127.0.0.1:${server.mqttPort}`, { protocolVersion: 5, username: 'token', password: who.token, reconnectPeriod: 0, ...(ca ? { ca, servername: 'localhost' } : {}) })
      .then(
        () => assert.fail('an MQTT CONNECT without a device proof must be refused'),
        (e: { code?: number }) => e,
      );
    return { code: error.code === 0x86 ? 'unauthenticated' : `mqtt ${error.code}`, closed: 0x86 };
  }
  const client =
    transport === 'websocket'
      ? await TestClient.open(server.wsUrl, ca)
      : transport === 'tcp'
        ? await TcpClient.open(server.tcpPort!, ca)
        : await LongPollClient.open(server.httpUrl, ca ? fetchTrusting(ca) : fetch);
  const error = await client.auth(who.token, undefined, null).then(
    () => assert.fail('a token without a device proof must be refused'),
    (e: CommandError) => e,
  );
  const closed = (await client.waitForClose()).code;
  client.close();
  return { code: error.code, reason: (error.details as { reason?: unknown } | undefined)?.reason, closed };
}

const posted = (c: FrameClient, channelId: string) => c.events(channelId).filter((e) => e.type === 'message.posted');

/**
 * One scenario, every transport, plain and TLS: authenticate, post, receive another's post,
 * drop and resume with no hole, a malformed frame gets a typed error, a channel one is not in is refused.
 */
for (const secure of [false, true]) {
  describe(`conformance${secure ? ' over TLS' : ''}`, () => {
    let server: SpawnedServer;
    let alice: Person;
    let bob: Person;

    before(async () => {
      server = await spawnServer({ env: { SOTONG_TCP_PORT: '0', SOTONG_MQTT_PORT: '0', ...(secure ? { SOTONG_TLS_SELF_SIGNED: 'true' } : {}) } });
      [alice, bob] = await Promise.all([person(server, 'Alice'), person(server, 'Bob')]);
    });
    after(() => server?.stop());

    for (const transport of ['websocket', 'long-poll', 'tcp', 'mqtt'] as const) {
      it(`${transport}${secure ? ' + TLS' : ''}`, async () => {
        const channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: `conf-${transport}`, memberIds: [alice.user.id] }, bob.token);
        const secret = await server.request<ChannelView>('POST', '/api/v1/channels', { name: `secret-${transport}`, kind: 'private' }, bob.token);
        const bobPosts = (text: string) =>
          server.request<Message>('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: `${transport}-${secure}-${text}`, text }, bob.token);
        const clientId = `conf-${transport}-${secure}-${Date.now()}`;

        // Authenticate and post.
        let a = await open(server, transport, alice, clientId, channel.id);
        const mine = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: `${clientId}-mine`, text: 'mine' });
        assert.equal(mine.text, 'mine');

        // Receive another's post.
        const theirs = await bobPosts('theirs');
        await a.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === theirs.id);
        const cursor = Math.max(...a.events(channel.id).map((e) => e.seq));

        // Drop, miss five posts, resume from the cursor: exactly those, in order, then live ones.
        a.drop();
        for (let i = 0; i < 5; i++) await bobPosts(`away ${i}`);
        a = await open(server, transport, alice, clientId, channel.id, { [channel.id]: cursor });
        const live = await bobPosts('live');
        await a.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === live.id);
        const seqs = a.events(channel.id).map((e) => e.seq);
        assert.deepEqual(seqs, Array.from({ length: live.seq - cursor }, (_, i) => cursor + 1 + i), 'no hole, no duplicate');
        assert.deepEqual(posted(a, channel.id).map((e) => (e.type === 'message.posted' ? e.message.text : '')), ['away 0', 'away 1', 'away 2', 'away 3', 'away 4', 'live']);

        // A malformed frame gets a typed error, and the connection carries on.
        a.sendRaw('{"t":"cmd",');
        await a.waitFor((f) => f.t === 'error' && f.code === 'bad_request');

        // A channel one is not in is refused by the permission check (not found: private channels stay hidden).
        await assert.rejects(a.call('message.send', { channelId: secret.id, clientMsgId: `${clientId}-x`, text: 'x' }), (e: CommandError) => e.code === 'not_found');
        if (a instanceof MqttFrameClient) {
          await assert.rejects(a.subscribe(`sotong/v1/${alice.user.workspaceId}/channels/${secret.id}`), (e: { packet?: { granted: number[] } }) => e.packet?.granted[0] === 0x87);
        } else {
          await assert.rejects(a.call('events.sync', { channelId: secret.id, after: 0 }), (e: CommandError) => e.code === 'not_found');
        }
        a.close();
      });
    }

    it(`a token without its device proof is refused on every transport, typed and audited${secure ? ' (TLS)' : ''}`, async () => {
      const eve = await person(server, 'Eve');
      for (const transport of ['websocket', 'long-poll', 'tcp'] as const) {
        assert.deepEqual(await refusedWithoutProof(server, transport, eve), { code: 'unauthenticated', reason: 'proof_missing', closed: 4001 }, transport);
      }
      assert.equal((await refusedWithoutProof(server, 'mqtt', eve)).code, 'unauthenticated', 'mqtt: CONNACK 0x86');
      const { events } = await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=500', undefined, await server.adminToken());
      const seen = events.filter((e) => e.action === 'device.proof_refused' && e.actorId === eve.user.id).map((e) => `${String(e.details.transport)}:${String(e.details.reason)}`);
      assert.deepEqual(seen.sort(), ['long-poll:proof_missing', 'mqtt:proof_missing', 'tcp:proof_missing', 'websocket:proof_missing']);
    });
  });
}
