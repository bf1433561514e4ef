import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

/** Invariant: per-channel total order, no holes; a client fills gaps by sync. */
describe('resume by cursors', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;

  before(async () => {
    server = await spawnServer({ env: { SOTONG_CATCHUP_EVENTS_PER_CHANNEL: '50' } });
    [alice, bob] = await Promise.all([person(server, 'Alice'), person(server, 'Bob')]);
  });
  after(() => server?.stop());

  it('a client that drops while others post gets exactly what it missed, in order, then live events', async () => {
    const a = await alice.connect();
    let b = await bob.connect();
    const channel = await a.call<ChannelView>('channel.create', { name: 'resume', memberIds: [bob.user.id] });
    await b.waitFor((f) => f.t === 'subscribed' && f.channelId === channel.id);
    for (let i = 0; i < 5; i++) await a.call('message.send', { channelId: channel.id, clientMsgId: `before-${i}`, text: `before ${i}` });
    const lastSeen = (await b.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.text === 'before 4')) as {
      e: { seq: number };
    };
    b.close();
    await b.waitForClose();

    // Alice keeps posting while Bob is away, and keeps posting while he reconnects.
    for (let i = 0; i < 20; i++) await a.call('message.send', { channelId: channel.id, clientMsgId: `away-${i}`, text: `away ${i}` });
    const racing = (async () => {
      for (let i = 0; i < 20; i++) await a.call('message.send', { channelId: channel.id, clientMsgId: `race-${i}`, text: `race ${i}` });
    })();
    b = await bob.connect({ [channel.id]: lastSeen.e.seq });
    await racing;
    const final = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'final', text: 'final' });
    await b.waitFor((f) => f.t === 'event' && f.e.seq === final.seq);

    const seqs = b.events(channel.id).map((e) => e.seq);
    const expected = Array.from({ length: final.seq - lastSeen.e.seq }, (_, i) => lastSeen.e.seq + 1 + i);
    assert.deepEqual(seqs, expected, 'no hole, no duplicate, in order');
    a.close();
    b.close();
  });

  it('a long absence is marked truncated and paged with events.sync', async () => {
    const a = await alice.connect();
    const channel = await a.call<ChannelView>('channel.create', { name: 'long-absence', memberIds: [bob.user.id] });
    for (let i = 0; i < 120; i++) await a.call('message.send', { channelId: channel.id, clientMsgId: `n${i}`, text: `n ${i}` });
    const b = await bob.connect({ [channel.id]: 0 });
    const auth = b.frames.find((f) => f.t === 'result') as { data: { truncated: string[]; channels: Record<string, number> } };
    assert.deepEqual(auth.data.truncated, [channel.id]);
    await b.waitFor((f) => f.t === 'event' && f.e.channelId === channel.id && f.e.seq === 50);
    const rest = await b.call<{ events: { seq: number }[]; hasMore: boolean }>('events.sync', { channelId: channel.id, after: 50, limit: 1000 });
    assert.equal(rest.hasMore, false);
    const all = [...b.events(channel.id).map((e) => e.seq), ...rest.events.map((e) => e.seq)];
    assert.deepEqual(all, Array.from({ length: auth.data.channels[channel.id]! }, (_, i) => i + 1));
    a.close();
    b.close();
  });
});
