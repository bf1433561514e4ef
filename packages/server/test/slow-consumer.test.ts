import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

/** Invariant: slow consumers never stall others. */
describe('a reader that stops reading', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  let carol: Person;

  before(async () => {
    server = await spawnServer({
      // Alice's 600 sends may take under two seconds: past the per-user budget (100/s, burst 400) too.
      env: {
        SOTONG_OUTBOUND_QUEUE_BYTES: String(256 * 1024),
        SOTONG_COMMANDS_PER_SECOND: '100000',
        SOTONG_COMMAND_BURST: '100000',
        SOTONG_USER_COMMANDS_PER_SECOND: '100000',
        SOTONG_USER_COMMAND_BURST: '100000',
      },
    });
    [alice, bob, carol] = await Promise.all([person(server, 'Alice'), person(server, 'Bob'), person(server, 'Carol')]);
  });
  after(() => server?.stop());

  it('is closed with slow_consumer while the others get every message', async () => {
    const a = await alice.connect();
    const channel = await a.call<ChannelView>('channel.create', { name: 'firehose', memberIds: [bob.user.id, carol.user.id] });
    const stuck = await bob.connect();
    const reader = await carol.connect();
    // Bob's client stops reading from its socket; the kernel buffers fill, then the server's queue.
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const text = 'x'.repeat(30_000);
    let last: Message | undefined;
    let resumed = false;
    const resume = () => {
      resumed = true;
      (stuck.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    };
    for (let i = 0; i < 600; i++) {
      last = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: `f${i}`, text });
      // The server drops a peer that has not read its close frame within a grace period: once it
      // has given up on Bob, let his client read again, however fast the store takes the rest.
      if (!resumed && server.output().includes('closing slow consumer')) resume();
    }
    await reader.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === last!.id, 20_000);
    const posted = reader.events(channel.id).filter((e) => e.type === 'message.posted');
    assert.equal(posted.length, 600, 'the reading member got everything');
    if (!resumed) resume();
    const closed = await stuck.waitForClose(10_000);
    assert.equal(closed.code, 4008);
    assert.equal(closed.reason, 'slow_consumer');
    const metrics = await (await fetch(`${server.httpUrl}/metrics`)).text();
    assert.match(metrics, /sotong_slow_consumer_disconnects_total 1/);
    a.close();
    reader.close();
  });
});
