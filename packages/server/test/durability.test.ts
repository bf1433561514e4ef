import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { TestClient } from './support/ws-client.js';

/** Invariant: ack means durable. */
describe('acknowledged messages survive SIGKILL', () => {
  let server: SpawnedServer;
  let alice: Person;

  before(async () => {
    // No timed indexing: what the search below finds, it finds through the index's durable pending list.
    server = await spawnServer({ env: { SOTONG_COMMANDS_PER_SECOND: '100000', SOTONG_COMMAND_BURST: '100000', SOTONG_SEARCH_INDEX_INTERVAL_MS: '3600000' } });
    alice = await person(server, 'Alice');
  });
  after(() => server?.stop());

  it('keeps every acknowledged message, in order, with no hole, after the server is killed mid-load', async () => {
    const client = await alice.connect();
    const channel = await client.call<ChannelView>('channel.create', { name: 'durable' });
    const acked = new Map<string, Message>();
    let sent = 0;
    // Keep 50 sends in flight; kill the server once a few hundred are acknowledged.
    const pump = async () => {
      while (!client.closed) {
        const clientMsgId = `k${sent++}`;
        try {
          const msg = await client.call<Message>('message.send', { channelId: channel.id, clientMsgId, text: `durable ${clientMsgId}` });
          acked.set(clientMsgId, msg);
        } catch {
          return;
        }
      }
    };
    const pumps = Array.from({ length: 50 }, pump);
    while (acked.size < 300) await new Promise((r) => setTimeout(r, 5));
    await server.kill('SIGKILL');
    await Promise.all(pumps);
    assert.ok(acked.size >= 300);

    await server.restart();
    const again = await TestClient.connect(server.wsUrl, alice.token);
    const stored: Message[] = [];
    for (let before: number | undefined; ; ) {
      const page = await again.call<{ messages: Message[]; hasMoreBefore: boolean }>('messages.list', {
        channelId: channel.id,
        limit: 200,
        ...(before !== undefined ? { before } : {}),
      });
      stored.unshift(...page.messages);
      if (!page.hasMoreBefore) break;
      before = page.messages[0]!.seq;
    }
    again.close();
    const byClientId = new Map(stored.map((m) => [m.clientMsgId, m]));
    for (const [clientMsgId, msg] of acked) {
      assert.equal(byClientId.get(clientMsgId)?.id, msg.id, `acknowledged ${clientMsgId} survived with the same id`);
      assert.equal(byClientId.get(clientMsgId)?.seq, msg.seq);
    }
    const sync = await TestClient.connect(server.wsUrl, alice.token);
    const log = await sync.call<{ events: { seq: number }[]; hasMore: boolean }>('events.sync', { channelId: channel.id, after: 0, limit: 1000 });
    sync.close();
    log.events.forEach((e, i) => assert.equal(e.seq, i + 1, 'the channel log has no hole'));

    const searcher = await TestClient.connect(server.wsUrl, alice.token);
    const lastAcked = [...acked.keys()].at(-1)!;
    const found = await searcher.call<{ hits: { message: Message }[] }>('search', { query: lastAcked, limit: 5 });
    searcher.close();
    assert.deepEqual(
      found.hits.map((h) => h.message.clientMsgId),
      [lastAcked],
      'the last acknowledged message is searchable after the kill',
    );
  });
});
