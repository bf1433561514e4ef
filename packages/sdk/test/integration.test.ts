import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { spawnServer, type SpawnedServer } from '@sotong/server/testing';
import { SotongError, type ChannelEvent, type ServerFrame, type User } from '@sotong/protocol';
import { MemoryStorage, SotongClient, type KeyValueStorage } from '../src/index.js';
import { SocketControl } from './controlled-socket.js';
import { waitFor } from './fixtures.js';

const PASSWORD = 'a password for the sdk tests';
const CATCH_UP_LIMIT = 20;

interface Account {
  user: User;
  email: string;
}

/** A signed-in SDK client over a socket the test can steer, with everything it saw. */
interface Session {
  client: SotongClient;
  control: SocketControl;
  events: ChannelEvent[];
  errors: Error[];
  messages(channelId: string): { seq: number; text: string; clientMsgId: string }[];
}

/** A port for the server that stays the same across restarts. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

function assertConsecutive(seqs: number[], what: string): void {
  const expected = Array.from({ length: seqs.length }, (_, i) => (seqs[0] ?? 0) + i);
  assert.deepEqual(seqs, expected, `${what}: every seq once, in order, no hole`);
}

describe('SDK against the real server', () => {
  let server: SpawnedServer;
  let alice: Account;
  let bob: Account;
  const open: SotongClient[] = [];

  async function account(name: string): Promise<Account> {
    const email = `${unique(name.toLowerCase())}@sotong.test`;
    return { user: await server.createUser(email, name, PASSWORD), email };
  }

  async function signIn(account: Account, storage?: KeyValueStorage): Promise<Session> {
    const control = new SocketControl();
    const client = await SotongClient.login(server.httpUrl, account.email, PASSWORD, {
      WebSocket: control.WebSocket,
      reconnect: { baseMs: 20, maxMs: 250 },
      // Every frame and result from the server is checked against the protocol schemas.
      debug: true,
      ...(storage ? { storage } : {}),
    });
    open.push(client);
    const events: ChannelEvent[] = [];
    const errors: Error[] = [];
    client.on('event', (event) => events.push(event));
    client.on('error', (error) => errors.push(error));
    const messages = (channelId: string) =>
      events.flatMap((e) =>
        e.channelId === channelId && e.type === 'message.posted' ? [{ seq: e.seq, text: e.message.text, clientMsgId: e.message.clientMsgId }] : [],
      );
    return { client, control, events, errors, messages };
  }

  /** Alice opens a channel with Bob; resolves when both clients show it. */
  async function channelOf(a: Session, b: Session): Promise<string> {
    const channel = await a.client.call('channel.create', { name: unique('sdk'), memberIds: [bob.user.id] });
    await waitFor(() => a.client.getState().channels.has(channel.id) && b.client.getState().channels.has(channel.id), 'the new channel on both sides');
    return channel.id;
  }

  before(async () => {
    const port = await freePort();
    server = await spawnServer({
      env: {
        PORT: String(port),
        SOTONG_CATCHUP_EVENTS_PER_CHANNEL: String(CATCH_UP_LIMIT),
        SOTONG_COMMANDS_PER_SECOND: '1000',
        SOTONG_COMMAND_BURST: '1000',
      },
    });
    [alice, bob] = await Promise.all([account('Alice'), account('Bob')]);
  });

  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await server?.stop();
  });

  it('two clients: what one sends the other receives, and the local badges agree with the server', async () => {
    const [a, b] = await Promise.all([signIn(alice), signIn(bob)]);
    await Promise.all([a.client.connect(), b.client.connect()]);
    const channelId = await channelOf(a, b);

    const root = await a.client.send(channelId, 'hello bob');
    const mention = await a.client.send(channelId, `look <@${bob.user.id}>`);
    await a.client.send(channelId, 'a reply', { threadRootId: root.id });
    await a.client.send(channelId, 'to @channel');
    const last = await a.client.send(channelId, 'bye');
    await waitFor(() => b.messages(channelId).some((m) => m.seq === last.seq), 'the last message at Bob');

    assert.deepEqual(b.messages(channelId).map((m) => m.text), ['hello bob', `look <@${bob.user.id}>`, 'a reply', 'to @channel', 'bye']);
    assert.deepEqual(a.client.getState().outbox, []);
    const local = b.client.getState().channels.get(channelId);
    const server = await b.client.call('channel.get', { channelId });
    assert.deepEqual(
      [local?.lastSeq, local?.lastReadSeq, local?.unreadCount, local?.mentionCount],
      [server.lastSeq, server.lastReadSeq, server.unreadCount, server.mentionCount],
      "Bob's local badges match the server's",
    );
    assert.deepEqual([local?.unreadCount, local?.mentionCount], [4, 2]);

    await a.client.call('message.delete', { messageId: mention.id });
    await waitFor(() => b.client.getState().channels.get(channelId)?.unreadCount === 3, 'the badges after the deletion');
    assert.equal(b.client.getState().channels.get(channelId)?.mentionCount, 1);
    const mine = a.client.getState().channels.get(channelId);
    assert.deepEqual([mine?.lastReadSeq, mine?.unreadCount], [last.seq, 0], 'posting reads the channel for Alice');

    await b.client.markRead(channelId);
    assert.deepEqual([b.client.getState().channels.get(channelId)?.unreadCount, b.client.getState().channels.get(channelId)?.mentionCount], [0, 0]);
    assert.deepEqual([...a.errors, ...b.errors], []);
  });

  it('a client whose socket dies while the other keeps posting resumes with no hole and no duplicate', async () => {
    const [a, b] = await Promise.all([signIn(alice), signIn(bob)]);
    await Promise.all([a.client.connect(), b.client.connect()]);
    const channelId = await channelOf(a, b);
    const reconnects = () => b.control.sent.filter((frame) => frame.t === 'auth').length;

    const texts = Array.from({ length: 60 }, (_, i) => `m${i}`);
    const sent = texts.map((text, i) => {
      const message = a.client.send(channelId, text);
      if (i === 15 || i === 40) void message.then(() => b.control.kill());
      return message;
    });
    const messages = await Promise.all(sent);
    const lastSeq = Math.max(...messages.map((m) => m.seq));
    await waitFor(() => b.events.some((e) => e.channelId === channelId && e.seq === lastSeq), 'the last message at Bob');

    assert.ok(reconnects() >= 2, 'Bob reconnected');
    assertConsecutive(b.events.filter((e) => e.channelId === channelId).map((e) => e.seq), "Bob's events");
    assert.deepEqual(b.messages(channelId).map((m) => m.text), texts);
    assert.deepEqual(messages.map((m) => m.seq), [...messages.map((m) => m.seq)].sort((x, y) => x - y), 'sent in the order written');
    assert.deepEqual([...a.errors, ...b.errors], []);
  });

  it('after a long absence the client resumes from its stored cursors and pages the truncated backlog', async () => {
    const storage = new MemoryStorage();
    const a = await signIn(alice);
    const b1 = await signIn(bob, storage);
    await Promise.all([a.client.connect(), b1.client.connect()]);
    const channelId = await channelOf(a, b1);
    const seen = (await a.client.send(channelId, 'before')).seq;
    await waitFor(() => b1.events.some((e) => e.seq === seen && e.channelId === channelId), 'the first message at Bob');
    await b1.client.close();

    const texts = Array.from({ length: CATCH_UP_LIMIT * 3 }, (_, i) => `away ${i}`);
    const sent = await Promise.all(texts.map((text) => a.client.send(channelId, text)));
    const lastSeq = Math.max(...sent.map((m) => m.seq));

    const b2 = await signIn(bob, storage);
    await b2.client.connect();
    await waitFor(() => b2.events.some((e) => e.channelId === channelId && e.seq === lastSeq), 'the whole backlog');

    const auth = b2.control.sent.find((frame) => frame.t === 'auth');
    assert.equal(auth?.t === 'auth' && auth.cursors?.[channelId], seen, 'resumed from the stored cursor');
    assert.ok(b2.control.commands('events.sync').length >= 1, 'paged with events.sync');
    const seqs = b2.events.filter((e) => e.channelId === channelId).map((e) => e.seq);
    assert.equal(seqs[0], seen + 1);
    assertConsecutive(seqs, 'the backlog');
    assert.deepEqual(b2.messages(channelId).map((m) => m.text), texts);
    assert.deepEqual([...a.errors, ...b2.errors], []);
  });

  it('a send whose result was lost is retried after the reconnect and makes one message', async () => {
    const [a, b] = await Promise.all([signIn(alice), signIn(bob)]);
    await Promise.all([a.client.connect(), b.client.connect()]);
    const channelId = await channelOf(a, b);

    // Everything after the send, up to and including its result, is lost with the socket.
    const lost: ServerFrame[] = [];
    a.control.dropInbound = (frame) => {
      lost.push(frame);
      if (frame.t === 'result') {
        a.control.dropInbound = undefined;
        a.control.kill();
      }
      return true;
    };
    const message = await a.client.send(channelId, 'exactly once');

    const attempts = a.control.commands('message.send').filter((cmd) => (cmd.args as { clientMsgId: string }).clientMsgId === message.clientMsgId);
    assert.equal(attempts.length, 2, 'sent twice with the same clientMsgId');
    const lostResult = lost.find((frame) => frame.t === 'result');
    assert.equal((lostResult?.t === 'result' && (lostResult.data as { id: string }).id), message.id, 'the retry returned the original message');

    await waitFor(() => b.messages(channelId).length === 1, 'the message at Bob');
    const { messages } = await a.client.call('messages.list', { channelId, limit: 50 });
    assert.deepEqual(messages.filter((m) => m.text === 'exactly once').map((m) => m.id), [message.id], 'one message on the server');
    const aliceSaw = a.messages(channelId).filter((m) => m.clientMsgId === message.clientMsgId);
    assert.equal(aliceSaw.length, 1, 'Alice applied her own message once (from the backlog)');
    assert.deepEqual([...a.errors, ...b.errors], []);
  });

  it('a refused send is failed, not retried', async () => {
    const a = await signIn(alice);
    await a.client.connect();
    const channel = await a.client.call('channel.create', { name: unique('refused') });
    await assert.rejects(a.client.send(channel.id, 'x'.repeat(40_001)), (error: SotongError) => error.code === 'too_large');
    assert.deepEqual(a.client.getState().outbox.map((entry) => [entry.status, entry.error?.code]), [['failed', 'too_large']]);
    assert.equal(a.control.commands('message.send').length, 1);
  });

  it('a wrong password and a bad token are typed errors, and a refused token is not retried', async () => {
    await assert.rejects(SotongClient.login(server.httpUrl, alice.email, 'wrong password'), (error: SotongError) => error instanceof SotongError && error.code === 'unauthenticated');
    const client = new SotongClient({ url: server.wsUrl, token: 'not a token', WebSocket });
    await assert.rejects(client.connect(), (error: SotongError) => error.code === 'unauthenticated');
    assert.equal(client.getState().status.state, 'closed');
  });

  it('the server is killed and restarts: clients reconnect by themselves, and a message written meanwhile is delivered once', async () => {
    const [a, b] = await Promise.all([signIn(alice), signIn(bob)]);
    await Promise.all([a.client.connect(), b.client.connect()]);
    const channelId = await channelOf(a, b);
    const before = await a.client.send(channelId, 'before the crash');
    await waitFor(() => b.messages(channelId).length === 1, 'the first message at Bob');

    await server.kill('SIGKILL');
    await waitFor(() => a.client.getState().status.state !== 'ready', 'Alice to notice');
    const during = a.client.send(channelId, 'written while the server was down');
    assert.equal(a.client.getState().outbox[0]?.status, 'queued');
    await server.restart();

    const message = await during;
    assert.equal(message.seq, before.seq + 1);
    await waitFor(() => b.messages(channelId).length === 2, 'the second message at Bob');
    assert.deepEqual(b.messages(channelId).map((m) => m.text), ['before the crash', 'written while the server was down']);
    assert.equal(b.client.getState().status.state, 'ready');
    assert.deepEqual([...a.errors, ...b.errors], []);
  });
});
