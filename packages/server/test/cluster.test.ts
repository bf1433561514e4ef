import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ChannelEvent, ChannelView, Message } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { BUS_URL, clusterSkip } from './support/cluster.js';
import { TestClient } from './support/ws-client.js';

const FAST = { SOTONG_COMMANDS_PER_SECOND: '100000', SOTONG_COMMAND_BURST: '100000' };
const skip = await clusterSkip();

/** What a client shows for a channel: the events it received, with any gap filled by sync as the protocol says. */
async function view(client: TestClient, received: ChannelEvent[], channelId: string, upTo: number): Promise<Message[]> {
  const bySeq = new Map(received.filter((e) => e.channelId === channelId).map((e) => [e.seq, e]));
  for (let seq = 1; seq <= upTo; seq++) {
    if (bySeq.has(seq)) continue;
    const page = await client.call<{ events: ChannelEvent[] }>('events.sync', { channelId, after: seq - 1, limit: 1000 });
    for (const e of page.events) if (!bySeq.has(e.seq)) bySeq.set(e.seq, e);
  }
  return [...bySeq.values()]
    .sort((a, b) => a.seq - b.seq)
    .flatMap((e) => (e.type === 'message.posted' ? [e.message] : []));
}

describe('a cluster: three nodes on one PostgreSQL and NATS', { skip }, () => {
  const nodes: SpawnedServer[] = [];
  const people: Person[] = [];
  let channel: ChannelView;
  const prefix = `t${randomBytes(4).toString('hex')}`;

  before(async () => {
    const env = { ...FAST, BUS_URL, SOTONG_BUS_PREFIX: prefix };
    nodes.push(await spawnServer({ env }));
    nodes.push(await spawnServer({ env: { ...env, ...nodes[0]!.storeEnv } }));
    nodes.push(await spawnServer({ env: { ...env, ...nodes[0]!.storeEnv } }));
    for (let i = 0; i < 6; i++) people.push(await person(nodes[0]!, `P${i}`));
    const owner = await people[0]!.connect();
    channel = await owner.call('channel.create', { name: 'cluster', memberIds: people.slice(1).map((p) => p.user.id) });
    owner.close();
  });
  after(async () => {
    for (const node of nodes.slice(1)) await node.stop();
    await nodes[0]?.stop();
  });

  it('everyone receives every message live, in the same order, and typing, whichever node they are on', async () => {
    const clients = await Promise.all(people.map((p, i) => TestClient.connect(nodes[i % 3]!.wsUrl, p.token)));
    const sends = clients.flatMap((c, i) =>
      Array.from({ length: 15 }, (_, n) => c.call<Message>('message.send', { channelId: channel.id, clientMsgId: `live-${i}-${n}`, text: `from ${i}: ${n}` })),
    );
    const acked = await Promise.all(sends);
    const last = Math.max(...acked.map((m) => m.seq));
    await Promise.all(clients.map((c) => c.waitFor((f) => f.t === 'event' && f.e.channelId === channel.id && f.e.seq === last, 10_000)));
    const orders = clients.map((c) => c.events(channel.id).filter((e) => e.type === 'message.posted').map((e) => e.seq));
    for (const order of orders) {
      assert.deepEqual(order, [...order].sort((a, b) => a - b), 'in seq order');
      assert.equal(new Set(order).size, order.length, 'no duplicates');
    }
    for (const order of orders.slice(1)) assert.deepEqual(order, orders[0], 'the same order on every node');
    assert.equal(orders[0]!.length, acked.length, 'every message reached every client live');
    await clients[0]!.call('typing', { channelId: channel.id });
    await Promise.all(
      clients.slice(1).map((c) => c.waitFor((f) => f.t === 'signal' && f.s.kind === 'typing' && f.s.userId === people[0]!.user.id)),
    );
    for (const c of clients) c.close();
  });

  it('presence is the best of all nodes: online while any node has a session', async () => {
    const [alice, watcher] = [people[0]!, people[1]!];
    const onFirst = await TestClient.connect(nodes[0]!.wsUrl, alice.token);
    const onSecond = await TestClient.connect(nodes[1]!.wsUrl, alice.token);
    const w = await TestClient.connect(nodes[2]!.wsUrl, watcher.token);
    const asked = await w.call<{ presence: Record<string, string> }>('presence.get', { userIds: [alice.user.id] });
    if (asked.presence[alice.user.id] !== 'online') {
      await w.waitFor((f) => f.t === 'signal' && f.s.kind === 'presence' && f.s.status === 'online');
    }
    const presenceSignals = () => w.frames.flatMap((f) => (f.t === 'signal' && f.s.kind === 'presence' ? [f.s.status] : []));
    onFirst.close();
    await onFirst.waitForClose();
    await onSecond.call('presence.set', { status: 'away' });
    await w.waitFor((f) => f.t === 'signal' && f.s.kind === 'presence' && f.s.status === 'away');
    assert.ok(!presenceSignals().includes('offline'), 'one node closing her session did not make her offline');
    onSecond.close();
    await w.waitFor((f) => f.t === 'signal' && f.s.kind === 'presence' && f.s.status === 'offline');
    w.close();
  });

  it('SIGTERM drains a node: its clients are told to go (1001) and resume on another node', async () => {
    const extra = await spawnServer({ env: { ...FAST, BUS_URL, SOTONG_BUS_PREFIX: prefix, ...nodes[0]!.storeEnv } });
    const [alice, bob] = [people[0]!, people[1]!];
    const leaving = await TestClient.connect(extra.wsUrl, bob.token);
    const sender = await TestClient.connect(nodes[0]!.wsUrl, alice.token);
    const before = await sender.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'drain-1', text: 'before the drain' });
    await leaving.waitFor((f) => f.t === 'event' && f.e.seq === before.seq);
    await extra.stop();
    assert.equal((await leaving.waitForClose()).code, 1001);
    const during = await sender.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'drain-2', text: 'while moving' });
    const resumed = await TestClient.connect(nodes[1]!.wsUrl, bob.token, { [channel.id]: before.seq });
    await resumed.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === during.id);
    assert.deepEqual(
      resumed.events(channel.id).map((e) => e.seq),
      Array.from({ length: during.seq - before.seq }, (_, i) => before.seq + 1 + i),
    );
    sender.close();
    resumed.close();
  });

  it('a node killed mid-load loses nothing: its clients resume elsewhere with every acknowledged message once, in order', async () => {
    const clients = await Promise.all(people.map((p, i) => TestClient.connect(nodes[i % 3]!.wsUrl, p.token)));
    const senders = [clients[0]!, clients[1]!, clients[3]!, clients[4]!]; // on nodes 0 and 1, which stay up
    const acked: Message[] = [];
    let sent = 0;
    const pump = async (c: TestClient, tag: string) => {
      for (let n = 0; n < 60; n++) {
        acked.push(await c.call<Message>('message.send', { channelId: channel.id, clientMsgId: `${tag}-${n}`, text: `${tag} ${n}` }));
        sent++;
      }
    };
    const load = Promise.all(senders.map((c, i) => pump(c, `kill-${i}`)));
    while (sent < 60) await new Promise((r) => setTimeout(r, 5));
    await nodes[2]!.kill('SIGKILL');

    // Clients of the dead node reconnect to a live one with the last seq they hold.
    const received = clients.map((c) => c.events(channel.id));
    const resumed = await Promise.all(
      clients.map(async (c, i) => {
        if (i % 3 !== 2) return c;
        await c.waitForClose();
        const seen = c.events(channel.id);
        let cursor = 0;
        while (seen.some((e) => e.seq === cursor + 1)) cursor++;
        return TestClient.connect(nodes[i % 2]!.wsUrl, people[i]!.token, { [channel.id]: cursor });
      }),
    );
    await load;
    const last = Math.max(...acked.map((m) => m.seq));
    const shown = await Promise.all(
      resumed.map(async (c, i) => {
        await c.waitFor((f) => f.t === 'event' && f.e.channelId === channel.id && f.e.seq === last, 10_000);
        const events = c === clients[i] ? c.events(channel.id) : [...received[i]!, ...c.events(channel.id)];
        return view(c, events, channel.id, last);
      }),
    );
    const canonical = shown[0]!.map((m) => m.id);
    for (const messages of shown) {
      const ids = messages.map((m) => m.id);
      assert.deepEqual(ids, canonical, 'every client shows the same messages in the same order');
      assert.equal(new Set(ids).size, ids.length, 'exactly once');
    }
    for (const m of acked) assert.ok(canonical.includes(m.id), `acknowledged ${m.clientMsgId} is there`);
    for (const c of resumed) c.close();
  });
});
