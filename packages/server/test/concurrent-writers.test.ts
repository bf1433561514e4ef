import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelEvent, ChannelView, Message } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { queryStore, testDatabaseUrl } from './support/postgres.js';
import { TestClient } from './support/ws-client.js';

const FAST = { SOTONG_COMMANDS_PER_SECOND: '100000', SOTONG_COMMAND_BURST: '100000' };

/**
 * Invariant: per-channel total order, no holes — with two server processes writing into the same
 * PostgreSQL schema at once (what several nodes behind a load balancer do).
 */
describe('two nodes writing into one channel', { skip: testDatabaseUrl() ? false : 'needs PostgreSQL: set SOTONG_TEST_DATABASE_URL=postgres://…' }, () => {
  let first: SpawnedServer;
  let second: SpawnedServer;
  let alice: Person;
  let onFirst: TestClient;
  let onSecond: TestClient;

  before(async () => {
    first = await spawnServer({ env: FAST });
    second = await spawnServer({ env: { ...first.storeEnv, ...FAST } });
    alice = await person(first, 'Alice');
    onFirst = await TestClient.connect(first.wsUrl, alice.token);
    // The session lives in the shared store, so the same token signs in on the other node.
    onSecond = await TestClient.connect(second.wsUrl, alice.token);
  });
  after(async () => {
    onFirst?.close();
    onSecond?.close();
    // The second node only borrows the first one's schema; the first drops it.
    await second?.stop();
    await first?.stop();
  });

  /** Sends `count` messages to the channels in turn, `inFlight` at a time; returns what was acknowledged. */
  async function pump(client: TestClient, tag: string, channels: ChannelView[], count: number, inFlight: number): Promise<Message[]> {
    const acked: Message[] = [];
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const n = next++;
        const channel = channels[n % channels.length]!;
        acked.push(await client.call<Message>('message.send', { channelId: channel.id, clientMsgId: `${tag}${n}`, text: `${tag} ${n}` }));
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return acked;
  }

  async function log(channelId: string): Promise<ChannelEvent[]> {
    const events: ChannelEvent[] = [];
    for (;;) {
      const page = await onSecond.call<{ events: ChannelEvent[]; hasMore: boolean }>('events.sync', {
        channelId,
        after: events.at(-1)?.seq ?? 0,
        limit: 1000,
      });
      events.push(...page.events);
      if (!page.hasMore) return events;
    }
  }

  async function assertGapFree(channel: ChannelView, acked: Message[]): Promise<void> {
    const events = await log(channel.id);
    assert.deepEqual(
      events.map((e) => e.seq),
      Array.from({ length: events.length }, (_, i) => i + 1),
      'the log is 1..N, each seq exactly once',
    );
    const posted = new Map(events.flatMap((e) => (e.type === 'message.posted' ? [[e.message.id, e.seq] as const] : [])));
    const mine = acked.filter((m) => m.channelId === channel.id);
    assert.equal(posted.size, mine.length, 'one message.posted event per acknowledged message, no more');
    for (const m of mine) assert.equal(posted.get(m.id), m.seq, `${m.clientMsgId} is in the log at the seq it was acknowledged with`);
    assert.equal(new Set(mine.map((m) => m.seq)).size, mine.length, 'no two messages share a seq');
    const [row] = await queryStore(first, async (db) => (await db.query<{ last_seq: number }>('select last_seq::int from channels where id = $1', [channel.id])).rows);
    assert.equal(row!.last_seq, events.length, "the channel's counter ends at the last event");
  }

  it('leaves the seq gap-free and strictly ordered, 1..N exactly once', async () => {
    const channel = await onFirst.call<ChannelView>('channel.create', { name: 'contended' });
    const [a, b] = await Promise.all([pump(onFirst, 'a', [channel], 200, 20), pump(onSecond, 'b', [channel], 200, 20)]);
    assert.equal(a.length + b.length, 400);
    await assertGapFree(channel, [...a, ...b]);
  });

  it('stays gap-free and deadlock-free when the nodes write two channels in opposite orders', async () => {
    const one = await onFirst.call<ChannelView>('channel.create', { name: 'crossing-one' });
    const two = await onFirst.call<ChannelView>('channel.create', { name: 'crossing-two' });
    // Each node's group commit writes both channels in one transaction, in opposite orders.
    const [a, b] = await Promise.all([pump(onFirst, 'x', [one, two], 120, 10), pump(onSecond, 'y', [two, one], 120, 10)]);
    await assertGapFree(one, [...a, ...b]);
    await assertGapFree(two, [...a, ...b]);
    // Batches lock their channels in id order, so PostgreSQL never has to break a deadlock (a second each).
    const retries = (first.output() + second.output()).split('retrying').length - 1;
    assert.equal(retries, 0, 'no transaction was aborted and retried');
  });
});
