import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message, ServerFrame } from '@sotong/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { DEVICE_PROOF_TAG } from '@sotong/protocol';
import { deviceOf } from '../src/testing.js';
import { signMqttChallenges } from './support/frame-clients.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

const until = async (check: () => boolean, what: string, timeoutMs = 5000) => {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

interface Received {
  topic: string;
  frame: ServerFrame;
}

describe('MQTT 3.1.1 and 5 adapter', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  const clients: MqttClient[] = [];

  before(async () => {
    server = await spawnServer({ env: { SOTONG_MQTT_PORT: '0' } });
    [alice, bob] = await Promise.all([person(server, 'Alice'), person(server, 'Bob')]);
  });
  after(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await server?.stop();
  });

  async function open(who: Person, version: 4 | 5, extra: mqtt.IClientOptions = {}): Promise<{ client: MqttClient; received: Received[] }> {
    // MQTT 5 proves the device by enhanced authentication; 3.1.1 signs its CONNECT in the username.
    const client = mqtt.connect(`mqtt://127.0.0.1:${server.mqttPort}`, {
      protocolVersion: version,
      ...(version === 4 ? { username: deviceOf(who.token)!.mqttConnectProof(who.token), password: who.token } : {}),
      reconnectPeriod: 0,
      ...extra,
      ...(version === 5 ? { properties: { ...extra.properties, authenticationMethod: DEVICE_PROOF_TAG, authenticationData: Buffer.from(who.token) } } : {}),
    });
    if (version === 5) signMqttChallenges(client, who.token);
    clients.push(client);
    // Listen before CONNACK: a resumed session's backlog follows it at once.
    const received: Received[] = [];
    client.on('message', (topic, payload) => received.push({ topic, frame: JSON.parse(payload.toString()) as ServerFrame }));
    await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
    return { client, received };
  }

  for (const version of [4, 5] as const) {
    describe(`protocol version ${version === 4 ? '3.1.1' : '5'}`, () => {
      let channel: ChannelView;
      let root: string;

      before(async () => {
        const a = await alice.connect();
        channel = await a.call<ChannelView>('channel.create', { name: `mqtt-v${version}`, memberIds: [bob.user.id] });
        a.close();
        root = `sotong/v1/${alice.user.workspaceId}`;
      });

      it('a subscriber gets WebSocket posts, and a QoS 1 publish is stored before its PUBACK and reaches WebSocket clients', async () => {
        const { client, received } = await open(alice, version);
        const granted = await client.subscribeAsync([`${root}/channels/${channel.id}`, `${root}/users/${alice.user.id}/#`], { qos: 1 });
        assert.deepEqual(granted.map((g) => g.qos), [1, 1]);
        const ws = await bob.connect();
        const posted = await ws.call<Message>('message.send', { channelId: channel.id, clientMsgId: `ws-${version}`, text: `from ws v${version}` });
        await until(() => received.some((r) => r.frame.t === 'event' && r.frame.e.type === 'message.posted' && r.frame.e.message.id === posted.id), 'the WebSocket post');
        assert.equal(received.find((r) => r.frame.t === 'event')!.topic, `${root}/channels/${channel.id}`);

        await client.publishAsync(`${root}/channels/${channel.id}/send`, JSON.stringify({ clientMsgId: `mq-${version}`, text: `from mqtt v${version}` }), { qos: 1 });
        // PUBACK came after the store: the message is already readable.
        const history = await ws.call<{ messages: Message[] }>('messages.list', { channelId: channel.id });
        assert.ok(history.messages.some((m) => m.text === `from mqtt v${version}`), 'stored before PUBACK');
        await ws.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.text === `from mqtt v${version}`);
        await until(() => received.some((r) => r.topic === `${root}/users/${alice.user.id}/replies` && r.frame.t === 'result' && r.frame.id === `mq-${version}`), 'the reply');
        ws.close();
        await client.endAsync();
      });

      it('subscribing to a channel one is not in is refused by the permission check', async () => {
        const b = await bob.connect();
        const secret = await b.call<ChannelView>('channel.create', { name: `secret-v${version}`, kind: 'private' });
        b.close();
        const { client } = await open(alice, version);
        const err = (await client.subscribeAsync(`${root}/channels/${secret.id}`, { qos: 1 }).then(
          () => assert.fail('subscribed'),
          (e: unknown) => e,
        )) as { packet?: { granted: number[] } };
        assert.deepEqual(err.packet?.granted, [version === 5 ? 0x87 : 0x80]);
        const other = (await client.subscribeAsync(`${root}/users/${bob.user.id}/#`).then(
          () => assert.fail('subscribed'),
          (e: unknown) => e,
        )) as { packet?: { granted: number[] } };
        assert.deepEqual(other.packet?.granted, [version === 5 ? 0x87 : 0x80]);
        // Posting there is refused too: a typed error on the replies topic (and, on MQTT 5, in the PUBACK).
        const { received } = { received: [] as Received[] };
        client.on('message', (topic, payload) => received.push({ topic, frame: JSON.parse(payload.toString()) as ServerFrame }));
        await client.subscribeAsync(`${root}/users/${alice.user.id}/replies`);
        const publish = client.publishAsync(`${root}/channels/${secret.id}/send`, JSON.stringify({ clientMsgId: 'x', text: 'no' }), { qos: 1 });
        if (version === 5) await assert.rejects(publish, (e: { code?: number }) => e.code === 0x87);
        else await publish;
        await until(() => received.some((r) => r.frame.t === 'error' && r.frame.id === 'x' && r.frame.code === 'not_found'), 'the typed error');
        await client.endAsync();
      });

      it('a malformed payload gets a typed error; QoS 2 is granted as QoS 1', async () => {
        const { client, received } = await open(alice, version);
        const granted = await client.subscribeAsync(`${root}/users/${alice.user.id}/replies`, { qos: 2 });
        assert.equal(granted[0]!.qos, 1);
        const publish = client.publishAsync(`${root}/channels/${channel.id}/send`, '{not json', { qos: 1 });
        if (version === 5) await assert.rejects(publish, (e: { code?: number }) => e.code === 0x99);
        else await publish;
        await until(() => received.some((r) => r.frame.t === 'error' && r.frame.code === 'bad_request'), 'bad_request');
        await client.endAsync();
      });

      it('a bad token is refused at CONNECT', async () => {
        await assert.rejects(
          mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { protocolVersion: version, username: 'token', password: 'nope', reconnectPeriod: 0 }),
          (e: { code?: number }) => e.code === (version === 5 ? 0x86 : 4),
        );
      });

      it('clean start off: after a reconnect the session resumes from its cursors with no hole', async () => {
        const clientId = `resume-v${version}-${Date.now()}`;
        const options = { clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}) };
        const first = await open(alice, version, options);
        await first.client.subscribeAsync(`${root}/channels/${channel.id}`, { qos: 1 });
        const ws = await bob.connect();
        await ws.call('message.send', { channelId: channel.id, clientMsgId: `r0-${version}`, text: 'before' });
        await until(() => first.received.some((r) => r.frame.t === 'event' && r.frame.e.type === 'message.posted' && r.frame.e.message.text === 'before'), 'before');
        await first.client.endAsync();
        for (let i = 0; i < 5; i++) await ws.call('message.send', { channelId: channel.id, clientMsgId: `r${i + 1}-${version}`, text: `away ${i}` });
        const second = await open(alice, version, options);
        assert.equal((second.client as unknown as { connackPacket?: { sessionPresent: boolean } }).connackPacket?.sessionPresent ?? true, true);
        await ws.call('message.send', { channelId: channel.id, clientMsgId: `r9-${version}`, text: 'after' });
        await until(() => second.received.some((r) => r.frame.t === 'event' && r.frame.e.type === 'message.posted' && r.frame.e.message.text === 'after'), 'after');
        const texts = second.received.flatMap((r) => (r.frame.t === 'event' && r.frame.e.type === 'message.posted' ? [r.frame.e.message.text] : []));
        assert.deepEqual(texts, ['away 0', 'away 1', 'away 2', 'away 3', 'away 4', 'after']);
        const seqs = second.received.flatMap((r) => (r.frame.t === 'event' ? [r.frame.e.seq] : []));
        assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
        ws.close();
        await second.client.endAsync();
      });

      it('clean start off: a session open when the server is restarted resumes after it, from the store', async () => {
        const clientId = `restart-v${version}-${Date.now()}`;
        const options = { clientId, clean: false, ...(version === 5 ? { properties: { sessionExpiryInterval: 600 } } : {}) };
        const first = await open(alice, version, options);
        await first.client.subscribeAsync(`${root}/channels/${channel.id}`, { qos: 1 });
        // A rolling restart: SIGTERM, so the node closes its connections and keeps their sessions.
        await server.kill('SIGTERM');
        await server.restart();
        const ws = await bob.connect();
        await ws.call('message.send', { channelId: channel.id, clientMsgId: `rs-${version}`, text: `while away v${version}` });
        // No SUBSCRIBE this time: the kept subscription and cursor bring the message.
        const second = await open(alice, version, options);
        await until(() => second.received.some((r) => r.frame.t === 'event' && r.frame.e.type === 'message.posted' && r.frame.e.message.text === `while away v${version}`), 'the post made while away');
        ws.close();
        await second.client.endAsync();
      });
    });
  }

  describe('device proof at CONNECT', () => {
    interface Connack {
      cmd: string;
      returnCode?: number;
      reasonCode?: number;
      properties?: { reasonString?: string };
    }
    /** A raw CONNECT (and, for a challenge, the AUTH `answer` makes); resolves with the CONNACK. */
    async function connack(version: 4 | 5, fields: Record<string, unknown>, answer?: (nonce: string) => string): Promise<Connack> {
      const socket = netConnect(server.mqttPort!, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      const parser = mqttPacket.parser({ protocolVersion: version });
      const gen = (p: object) => mqttPacket.generate(p as Parameters<typeof mqttPacket.generate>[0], { protocolVersion: version });
      const done = new Promise<Connack>((resolve, reject) => {
        parser.on('packet', (p) => {
          const packet = p as Connack & { properties?: { authenticationData?: Buffer } };
          if (packet.cmd === 'auth' && answer) {
            const signature = answer(packet.properties!.authenticationData!.toString('utf8'));
            socket.write(gen({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: DEVICE_PROOF_TAG, authenticationData: Buffer.from(signature) } }));
          } else if (packet.cmd === 'connack') resolve(packet);
        });
        socket.once('close', () => reject(new Error('closed without CONNACK')));
      });
      socket.on('data', (d: Buffer) => parser.parse(d));
      socket.write(gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: '', clean: true, keepalive: 60, ...fields }));
      try {
        return await done;
      } finally {
        socket.destroy();
      }
    }

    it('a token without a proof, a replayed or forged proof and an unknown method are refused, typed and audited', async () => {
      const carol = await person(server, 'Carol');
      const token = Buffer.from(carol.token);
      const device = deviceOf(carol.token)!;
      // 3.1.1: the token alone, then a proof used twice.
      assert.equal((await connack(4, { username: 'token', password: token })).returnCode, 4);
      const proof = device.mqttConnectProof(carol.token);
      assert.equal((await connack(4, { username: proof, password: token })).returnCode, 0);
      assert.equal((await connack(4, { username: proof, password: token })).returnCode, 4, 'a replayed CONNECT proof');
      // 5: no method and no proof; a challenge signed for another nonce; a method we do not speak.
      const bare = await connack(5, { username: 'token', password: token });
      assert.equal(bare.reasonCode, 0x86);
      assert.match(bare.properties!.reasonString!, /^unauthenticated \(proof_missing\)/);
      const forged = await connack(5, { properties: { authenticationMethod: DEVICE_PROOF_TAG, authenticationData: token } }, () => device.challengeProof(carol.token, 'not-the-nonce', 'mqtt'));
      assert.equal(forged.reasonCode, 0x86);
      assert.match(forged.properties!.reasonString!, /^unauthenticated \(proof_invalid\)/);
      const other = await connack(5, { properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: token } });
      assert.equal(other.reasonCode, 0x8c);
      const signed = await connack(5, { properties: { authenticationMethod: DEVICE_PROOF_TAG, authenticationData: token } }, (nonce) => device.challengeProof(carol.token, nonce, 'mqtt'));
      assert.equal(signed.reasonCode, 0, 'the same exchange with the right signature connects');

      const { events } = await server.request<{ events: { action: string; actorId: string; details: { reason: string; transport: string } }[] }>(
        'GET',
        '/api/v1/admin/audit?limit=500',
        undefined,
        await server.adminToken(),
      );
      const seen = events.filter((e) => e.action === 'device.proof_refused' && e.actorId === carol.user.id).map((e) => `${e.details.transport}:${e.details.reason}`);
      for (const expected of ['mqtt:proof_missing', 'mqtt:proof_replayed', 'mqtt:proof_invalid']) assert.ok(seen.includes(expected), `audited ${expected} (got ${seen.join(', ')})`);
    });
  });

  it('MQTT over WebSocket at /mqtt works like the TCP listener', async () => {
    const client = mqtt.connect(`${server.httpUrl.replace('http', 'ws')}/mqtt`, {
      protocolVersion: 5,
      properties: { authenticationMethod: DEVICE_PROOF_TAG, authenticationData: Buffer.from(alice.token) },
      reconnectPeriod: 0,
    });
    signMqttChallenges(client, alice.token);
    clients.push(client);
    await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
    const granted = await client.subscribeAsync(`sotong/v1/${alice.user.workspaceId}/users/${alice.user.id}/replies`, { qos: 1 });
    assert.equal(granted[0]!.qos, 1);
    const replies: ServerFrame[] = [];
    client.on('message', (_t, p) => replies.push(JSON.parse(p.toString()) as ServerFrame));
    await client.publishAsync(`sotong/v1/${alice.user.workspaceId}/users/${alice.user.id}/cmd`, JSON.stringify({ id: 'me', cmd: 'me.get' }), { qos: 1 });
    await until(() => replies.some((f) => f.t === 'result' && f.id === 'me' && (f.data as { id: string }).id === alice.user.id), 'me.get result');
    await client.endAsync();
  });

  it('a QoS 1 subscriber that stops acknowledging past its Receive Maximum is closed as a slow consumer (MQTT 5 0x97)', async () => {
    const ws = await bob.connect();
    const channel = await ws.call<ChannelView>('channel.create', { name: 'no-acks', memberIds: [alice.user.id] });
    const socket = netConnect(server.mqttPort!, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const packets: { cmd: string; reasonCode?: number; topic?: string }[] = [];
    parser.on('packet', (p) => packets.push(p as { cmd: string }));
    socket.on('data', (d: Buffer) => parser.parse(d));
    const gen = (p: Parameters<typeof mqttPacket.generate>[0]) => mqttPacket.generate(p, { protocolVersion: 5 });
    socket.write(gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'no-acks', clean: true, keepalive: 60, username: deviceOf(alice.token)!.mqttConnectProof(alice.token), password: Buffer.from(alice.token), properties: { receiveMaximum: 2 } }));
    socket.write(gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `sotong/v1/${alice.user.workspaceId}/channels/${channel.id}`, qos: 1 }] }));
    await until(() => packets.some((p) => p.cmd === 'suback'), 'SUBACK');
    for (let i = 0; i < 3; i++) await ws.call('message.send', { channelId: channel.id, clientMsgId: `na${i}`, text: `na ${i}` });
    await until(() => packets.some((p) => p.cmd === 'disconnect'), 'DISCONNECT');
    assert.equal(packets.filter((p) => p.cmd === 'publish').length, 2, 'no more than Receive Maximum unacknowledged');
    assert.equal(packets.find((p) => p.cmd === 'disconnect')!.reasonCode, 0x97);
    socket.destroy();
    ws.close();
  });

  it('keep-alive: a client silent for 1.5 × its keep-alive is disconnected', async () => {
    const socket = netConnect(server.mqttPort!, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    socket.resume();
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'quiet', clean: true, keepalive: 1, username: deviceOf(alice.token)!.mqttConnectProof(alice.token), password: Buffer.from(alice.token) }));
    const started = Date.now();
    await new Promise((r) => socket.once('close', r));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1400 && elapsed < 4000, `closed after ${elapsed} ms`);
  });
});
