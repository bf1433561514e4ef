import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { CLOSE_CODES, SotongError, type ChannelEvent, type ChannelView } from '@sotong/protocol';
import { SotongClient, type SotongClientOptions } from '../src/client.js';
import { MemoryStorage } from '../src/storage.js';
import { FakeServer, type FakeSocket } from './fake-server.js';
import { alice, authResult, channelView, message, posted, waitFor } from './fixtures.js';

interface Harness {
  server: FakeServer;
  client: SotongClient;
  events: ChannelEvent[];
  errors: Error[];
}

async function withClient(options: Partial<SotongClientOptions>, body: (h: Harness) => Promise<void>): Promise<void> {
  const server = await FakeServer.start();
  const client = new SotongClient({ url: server.url, token: 'secret', WebSocket, reconnect: { baseMs: 5, maxMs: 10 }, ...options });
  const events: ChannelEvent[] = [];
  const errors: Error[] = [];
  client.on('event', (event) => events.push(event));
  client.on('error', (error) => errors.push(error));
  try {
    await body({ server, client, events, errors });
  } finally {
    await client.close();
    await server.stop();
  }
}

/** Accepts the next socket, completes the handshake and answers the channel list. */
async function serve(server: FakeServer, channels: Record<string, number>, views: ChannelView[], extra: Parameters<typeof authResult>[1] = {}) {
  const socket = await server.accept();
  const auth = await socket.handshake(authResult(channels, extra));
  const list = await socket.nextCommand('channels.list');
  socket.send({ t: 'result', id: list.id, data: { channels: views } });
  return { socket, auth };
}

const seqs = (events: ChannelEvent[]) => events.map((e) => `${e.channelId}:${e.seq}`);

test('connect resolves with the channel list loaded into the state', () =>
  withClient({}, async ({ server, client }) => {
    const connected = client.connect();
    await serve(server, { c1: 3 }, [channelView('c1', { lastSeq: 3, unreadCount: 2 })]);
    const session = await connected;
    assert.deepEqual(session.channels, { c1: 3 });
    const state = client.getState();
    assert.equal(state.status.state, 'ready');
    assert.equal(state.user?.id, alice.id);
    assert.equal(state.channels.get('c1')?.unreadCount, 2);
  }));

test('a gap is filled with events.sync; listeners see every event once, in seq order', () =>
  withClient({}, async ({ server, client, events }) => {
    const connected = client.connect();
    const { socket } = await serve(server, { c1: 0 }, [channelView('c1')]);
    await connected;
    for (const seq of [1, 2, 4, 2, 5]) socket.send({ t: 'event', e: posted('c1', seq) });
    const sync = await socket.nextCommand('events.sync');
    assert.deepEqual(sync.args, { channelId: 'c1', after: 2, limit: 500 });
    socket.send({ t: 'result', id: sync.id, data: { events: [posted('c1', 3), posted('c1', 4)], hasMore: false, lastSeq: 5 } });
    await waitFor(() => events.length === 5, 'five events');
    assert.deepEqual(seqs(events), ['c1:1', 'c1:2', 'c1:3', 'c1:4', 'c1:5']);
    assert.equal(client.getState().channels.get('c1')?.unreadCount, 5);
  }));

test('events wait for the channel list, so that its counts and the events after it add up', () =>
  withClient({}, async ({ server, client, events }) => {
    const connected = client.connect();
    const socket = await server.accept();
    await socket.handshake(authResult({ c1: 5 }));
    const list = await socket.nextCommand('channels.list');
    socket.send({ t: 'event', e: posted('c1', 6) });
    // The server built this view after event 6: it already counts it.
    socket.send({ t: 'result', id: list.id, data: { channels: [channelView('c1', { lastSeq: 6, unreadCount: 1 })] } });
    await connected;
    socket.send({ t: 'event', e: posted('c1', 7) });
    await waitFor(() => events.length === 2, 'both events');
    assert.equal(client.getState().channels.get('c1')?.unreadCount, 2);
  }));

test('after a reconnect it resumes from its cursors and drops what it already has', () =>
  withClient({}, async ({ server, client, events }) => {
    const connected = client.connect();
    const first = await serve(server, { c1: 0, c2: 7 }, [channelView('c1'), channelView('c2', { lastSeq: 7 })]);
    await connected;
    for (const seq of [1, 2, 3]) first.socket.send({ t: 'event', e: posted('c1', seq) });
    await waitFor(() => events.length === 3, 'the first events');
    first.socket.close(CLOSE_CODES.slowConsumer, 'slow_consumer');

    const second = await serve(server, { c1: 5, c2: 7 }, [channelView('c1', { lastSeq: 3 }), channelView('c2', { lastSeq: 7 })]);
    assert.deepEqual(second.auth.cursors, { c1: 3, c2: 7 });
    for (const seq of [2, 3, 4, 5]) second.socket.send({ t: 'event', e: posted('c1', seq) });
    await waitFor(() => events.length === 5, 'the backlog');
    assert.deepEqual(seqs(events), ['c1:1', 'c1:2', 'c1:3', 'c1:4', 'c1:5']);
  }));

test('a truncated backlog is paged with events.sync', () =>
  withClient({}, async ({ server, client, events }) => {
    const connected = client.connect();
    const first = await serve(server, { c1: 0 }, [channelView('c1')]);
    await connected;
    first.socket.send({ t: 'event', e: posted('c1', 1) });
    await waitFor(() => events.length === 1, 'the first event');
    first.socket.close();

    const second = await serve(server, { c1: 4 }, [channelView('c1', { lastSeq: 1 })], { truncated: ['c1'] });
    const page1 = await second.socket.nextCommand('events.sync');
    assert.deepEqual(page1.args, { channelId: 'c1', after: 1, limit: 500 });
    second.socket.send({ t: 'result', id: page1.id, data: { events: [posted('c1', 2), posted('c1', 3)], hasMore: true, lastSeq: 4 } });
    const page2 = await second.socket.nextCommand('events.sync');
    assert.deepEqual(page2.args, { channelId: 'c1', after: 3, limit: 500 });
    second.socket.send({ t: 'result', id: page2.id, data: { events: [posted('c1', 4)], hasMore: false, lastSeq: 4 } });
    await waitFor(() => events.length === 4, 'all pages');
    assert.deepEqual(seqs(events), ['c1:1', 'c1:2', 'c1:3', 'c1:4']);
  }));

test('a send whose answer was lost is re-sent after the reconnect with the same clientMsgId', () =>
  withClient({}, async ({ server, client }) => {
    const connected = client.connect();
    const first = await serve(server, { c1: 0 }, [channelView('c1')]);
    await connected;
    const sent = client.send('c1', 'hello', { threadRootId: 'm-root' });
    const attempt1 = await first.socket.nextCommand('message.send');
    first.socket.close();
    await waitFor(() => client.getState().status.state !== 'ready', 'the disconnect');
    assert.equal(client.getState().outbox[0]?.status, 'queued');

    const second = await serve(server, { c1: 0 }, [channelView('c1')]);
    const attempt2 = await second.socket.nextCommand('message.send');
    assert.deepEqual(attempt2.args, attempt1.args);
    const args = attempt2.args as { clientMsgId: string; text: string };
    assert.equal(args.text, 'hello');
    second.socket.send({ t: 'result', id: attempt2.id, data: message('c1', 1, { senderId: alice.id, clientMsgId: args.clientMsgId }) });
    assert.equal((await sent).clientMsgId, args.clientMsgId);
    assert.deepEqual(client.getState().outbox, []);
  }));

test('a refused send is marked failed in the state, and can be discarded', () =>
  withClient({}, async ({ server, client }) => {
    const connected = client.connect();
    const { socket } = await serve(server, { c1: 0 }, [channelView('c1')]);
    await connected;
    const sent = client.send('c1', 'hello');
    const cmd = await socket.nextCommand('message.send');
    socket.send({ t: 'error', id: cmd.id, code: 'forbidden', message: 'read-only channel' });
    await assert.rejects(sent, (error: SotongError) => error.code === 'forbidden');
    const [entry] = client.getState().outbox;
    assert.deepEqual([entry?.status, entry?.error?.code], ['failed', 'forbidden']);
    assert.equal(client.discardSend(entry!.clientMsgId), true);
    assert.deepEqual(client.getState().outbox, []);
  }));

test('subscribed adds the channel and follows it; unsubscribed removes it', () =>
  withClient({}, async ({ server, client, events }) => {
    const connected = client.connect();
    const { socket } = await serve(server, {}, []);
    await connected;
    socket.send({ t: 'subscribed', channelId: 'c2', lastSeq: 4 });
    const get = await socket.nextCommand('channel.get');
    assert.deepEqual(get.args, { channelId: 'c2' });
    socket.send({ t: 'event', e: posted('c2', 5) });
    socket.send({ t: 'result', id: get.id, data: channelView('c2', { lastSeq: 5, unreadCount: 1 }) });
    await waitFor(() => client.getState().channels.has('c2'), 'the channel');
    assert.deepEqual(seqs(events), ['c2:5']);
    assert.equal(client.getState().channels.get('c2')?.unreadCount, 1);

    socket.send({ t: 'unsubscribed', channelId: 'c2' });
    socket.send({ t: 'event', e: posted('c2', 6) });
    await waitFor(() => !client.getState().channels.has('c2'), 'the removal');
    assert.deepEqual(seqs(events), ['c2:5']);
  }));

test('deleting an unread message asks the server for the channel badges', () =>
  withClient({}, async ({ server, client, events }) => {
    const connected = client.connect();
    const { socket } = await serve(server, { c1: 2 }, [channelView('c1', { lastSeq: 2, unreadCount: 2 })]);
    await connected;
    socket.send({ t: 'event', e: { type: 'message.deleted', channelId: 'c1', seq: 3, actorId: 'u-bob', at: 3, messageId: 'm-c1-2', threadRootId: null } });
    const get = await socket.nextCommand('channel.get');
    assert.deepEqual(get.args, { channelId: 'c1' });
    socket.send({ t: 'result', id: get.id, data: channelView('c1', { lastSeq: 3, unreadCount: 1 }) });
    await waitFor(() => client.getState().channels.get('c1')?.unreadCount === 1, 'the fresh badges');
    assert.equal(events.length, 1);
  }));

test('unread signals and markRead update the badges', () =>
  withClient({}, async ({ server, client }) => {
    const connected = client.connect();
    const { socket } = await serve(server, { c1: 9 }, [channelView('c1', { lastSeq: 9, unreadCount: 4, mentionCount: 1 })]);
    await connected;
    const signals: string[] = [];
    client.on('signal', (signal) => signals.push(signal.kind));
    socket.send({ t: 'signal', s: { kind: 'unread', channelId: 'c1', lastReadSeq: 7, unreadCount: 2, mentionCount: 0 } });
    await waitFor(() => client.getState().channels.get('c1')?.unreadCount === 2, 'the unread signal');
    assert.deepEqual(signals, ['unread']);

    const read = client.markRead('c1');
    const cmd = await socket.nextCommand('channel.markRead');
    assert.deepEqual(cmd.args, { channelId: 'c1', seq: 9 });
    socket.send({ t: 'result', id: cmd.id, data: { lastReadSeq: 9, unreadCount: 0, mentionCount: 0 } });
    await read;
    const view = client.getState().channels.get('c1');
    assert.deepEqual([view?.lastReadSeq, view?.unreadCount, view?.mentionCount], [9, 0, 0]);
  }));

test('cursors persist in the storage; a later client resumes from them', async () => {
  const server = await FakeServer.start();
  const storage = new MemoryStorage();
  const options = { url: server.url, token: 'secret', WebSocket, storage, user: alice };
  try {
    const first = new SotongClient(options);
    const events: ChannelEvent[] = [];
    first.on('event', (event) => events.push(event));
    const connected = first.connect();
    const one = await serve(server, { c1: 0 }, [channelView('c1')]);
    assert.equal(one.auth.cursors, undefined);
    await connected;
    for (const seq of [1, 2, 3]) one.socket.send({ t: 'event', e: posted('c1', seq) });
    await waitFor(() => events.length === 3, 'the events');
    await first.close();

    const second = new SotongClient(options);
    const reconnected = second.connect();
    const two = await serve(server, { c1: 3 }, [channelView('c1', { lastSeq: 3 })]);
    assert.deepEqual(two.auth.cursors, { c1: 3 });
    await reconnected;
    await second.close();
  } finally {
    await server.stop();
  }
});

test('a cursor past the server head (a reset server) follows the server', async () => {
  const storage = new MemoryStorage();
  await withClient({ storage, user: alice }, async ({ server, client, events }) => {
    await storage.setItem(`sotong:cursors:${alice.id}@${server.url}`, JSON.stringify({ c1: 10 }));
    const connected = client.connect();
    const { socket, auth } = await serve(server, { c1: 2 }, [channelView('c1', { lastSeq: 2 })]);
    assert.deepEqual(auth.cursors, { c1: 10 });
    await connected;
    socket.send({ t: 'event', e: posted('c1', 3) });
    await waitFor(() => events.length === 1, 'the event');
    assert.deepEqual(seqs(events), ['c1:3']);
  });
});

test('debug mode drops and reports frames that break the protocol', () =>
  withClient({ debug: true }, async ({ server, client, events, errors }) => {
    const connected = client.connect();
    const { socket } = await serve(server, { c1: 0 }, [channelView('c1')]);
    await connected;
    socket.ws.send(JSON.stringify({ t: 'event', e: { type: 'message.posted', channelId: 'c1', seq: 1 } }));
    socket.send({ t: 'event', e: posted('c1', 1) });
    await waitFor(() => events.length === 1, 'the valid event');
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /malformed frame/);
  }));

test('debug mode checks command results against the protocol', () =>
  withClient({ debug: true }, async ({ server, client }) => {
    const connected = client.connect();
    const { socket } = await serve(server, {}, []);
    await connected;
    const me = client.call('me.get');
    const cmd = await socket.nextCommand('me.get');
    socket.send({ t: 'result', id: cmd.id, data: { id: 'u1' } });
    await assert.rejects(me, (error: SotongError) => error.code === 'internal' && /invalid me.get result/.test(error.message));
  }));

test('a refused token rejects connect and stops', () =>
  withClient({}, async ({ server, client }) => {
    const connected = client.connect();
    const socket: FakeSocket = await server.accept();
    socket.send({ t: 'hello', v: 1, maxFrameBytes: 65536 });
    const auth = await socket.next();
    socket.send({ t: 'error', id: auth.t === 'auth' ? auth.id : '', code: 'unauthenticated', message: 'expired' });
    await assert.rejects(connected, (error: SotongError) => error.code === 'unauthenticated');
    assert.equal(client.getState().status.state, 'closed');
  }));
