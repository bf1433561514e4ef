import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { CLOSE_CODES, SotongError, type AuthResult } from '@sotong/protocol';
import { Connection, type ConnectionHandlers, type ConnectionOptions, type ConnectionStatus, type PushFrame } from '../src/connection.js';
import { FakeServer } from './fake-server.js';
import { authResult, posted, waitFor } from './fixtures.js';

function setup(server: FakeServer, options: Partial<ConnectionOptions> = {}, cursors: Record<string, number> = {}) {
  const statuses: ConnectionStatus[] = [];
  const frames: PushFrame[] = [];
  const ready: AuthResult[] = [];
  const errors: Error[] = [];
  let disconnects = 0;
  const handlers: ConnectionHandlers = {
    cursors: () => cursors,
    ready: (session) => ready.push(session),
    frame: (frame) => frames.push(frame),
    disconnected: () => void (disconnects += 1),
    status: (status) => statuses.push(status),
    error: (error) => errors.push(error),
  };
  const connection = new Connection(
    { url: server.url, token: 'secret', WebSocket, reconnect: { baseMs: 10, maxMs: 20 }, ...options },
    handlers,
  );
  return { connection, statuses, frames, ready, errors, disconnects: () => disconnects, states: () => statuses.map((s) => s.state) };
}

async function withServer(body: (server: FakeServer) => Promise<void>): Promise<void> {
  const server = await FakeServer.start();
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

test('authenticates with token, version and cursors, then matches results and errors to requests', () =>
  withServer(async (server) => {
    const { connection, states, ready } = setup(server, {}, { c1: 4 });
    const opened = connection.open();
    const socket = await server.accept();
    const auth = await socket.handshake(authResult({ c1: 6 }));
    assert.deepEqual({ v: auth.v, token: auth.token, cursors: auth.cursors }, { v: 1, token: 'secret', cursors: { c1: 4 } });
    assert.deepEqual((await opened).channels, { c1: 6 });
    assert.equal(ready.length, 1);
    assert.deepEqual(states(), ['connecting', 'ready']);

    const first = connection.request('me.get', {});
    const second = connection.request('channel.get', { channelId: 'nope' });
    const cmdA = await socket.nextCommand('me.get');
    const cmdB = await socket.nextCommand('channel.get');
    assert.deepEqual(cmdB.args, { channelId: 'nope' });
    socket.send({ t: 'error', id: cmdB.id, code: 'not_found', message: 'no such channel', details: { channelId: 'nope' } });
    socket.send({ t: 'result', id: cmdA.id, data: { answer: 42 } });
    assert.deepEqual(await first, { answer: 42 });
    await assert.rejects(second, (error: SotongError) => error instanceof SotongError && error.code === 'not_found' && error.message === 'no such channel');
    connection.close();
    assert.deepEqual(states().at(-1), 'closed');
  }));

test('pushed frames reach the handler; pings are answered by the server', () =>
  withServer(async (server) => {
    const { connection, frames } = setup(server);
    const opened = connection.open();
    const socket = await server.accept();
    await socket.handshake(authResult({ c1: 0 }));
    await opened;
    socket.send({ t: 'event', e: posted('c1', 1) });
    socket.send({ t: 'subscribed', channelId: 'c2', lastSeq: 3 });
    socket.send({ t: 'pong' });
    await waitFor(() => frames.length === 2, 'two frames');
    assert.deepEqual(frames.map((f) => f.t), ['event', 'subscribed']);
    connection.close();
  }));

test('a request without an answer times out as unavailable', () =>
  withServer(async (server) => {
    const { connection } = setup(server, { requestTimeoutMs: 50 });
    const opened = connection.open();
    await (await server.accept()).handshake(authResult({}));
    await opened;
    await assert.rejects(connection.request('me.get', {}), (error: SotongError) => error.code === 'unavailable');
    connection.close();
  }));

test('a request larger than the server frame limit is refused locally as too_large', () =>
  withServer(async (server) => {
    const { connection } = setup(server);
    const opened = connection.open();
    const socket = await server.accept();
    await socket.handshake(authResult({}), 1024);
    await opened;
    await assert.rejects(connection.request('message.send', { text: '가'.repeat(400) }), (error: SotongError) => error.code === 'too_large');
    const small = connection.request('me.get', {});
    const cmd = await socket.nextCommand('me.get');
    socket.send({ t: 'result', id: cmd.id, data: {} });
    await small;
    connection.close();
  }));

test('requests fail fast while not connected', async () => {
  const server = await FakeServer.start();
  const { connection } = setup(server);
  await server.stop();
  await assert.rejects(connection.request('me.get', {}), (error: SotongError) => error.code === 'unavailable');
});

test('after the server closes, pending requests fail and it reconnects with backoff and fresh cursors', () =>
  withServer(async (server) => {
    const cursors: Record<string, number> = { c1: 1 };
    const { connection, statuses, disconnects, states } = setup(server, {}, cursors);
    const opened = connection.open();
    const first = await server.accept();
    await first.handshake(authResult({ c1: 1 }));
    await opened;
    const pending = connection.request('me.get', {});
    await first.nextCommand('me.get');
    cursors['c1'] = 5;
    first.close(CLOSE_CODES.slowConsumer, 'slow_consumer');
    await assert.rejects(pending, (error: SotongError) => error.code === 'unavailable');

    const second = await server.accept();
    const auth = await second.handshake(authResult({ c1: 5 }));
    assert.deepEqual(auth.cursors, { c1: 5 });
    await waitFor(() => connection.isReady, 'the second session');
    assert.equal(disconnects(), 1);
    assert.deepEqual(states(), ['connecting', 'ready', 'reconnecting', 'connecting', 'ready']);
    const reconnecting = statuses.find((s) => s.state === 'reconnecting');
    assert.deepEqual(reconnecting?.state === 'reconnecting' && [reconnecting.closeCode, reconnecting.reason], [CLOSE_CODES.slowConsumer, 'slow_consumer']);
    connection.close();
  }));

test('keeps trying while the server is unreachable', async () => {
  const server = await FakeServer.start();
  const url = server.url;
  await server.stop();
  const statuses: ConnectionStatus[] = [];
  const connection = new Connection(
    { url, token: 't', WebSocket, reconnect: { baseMs: 5, maxMs: 10 } },
    { cursors: () => ({}), ready: () => {}, frame: () => {}, disconnected: () => {}, status: (s) => statuses.push(s), error: () => {} },
  );
  const opened = connection.open();
  await waitFor(() => statuses.filter((s) => s.state === 'reconnecting').length >= 3, 'three reconnect attempts');
  connection.close();
  await assert.rejects(opened, (error: SotongError) => error.code === 'unavailable');
});

test('a refused token closes for good: no reconnect', () =>
  withServer(async (server) => {
    const { connection, states } = setup(server);
    const opened = connection.open();
    const socket = await server.accept();
    socket.send({ t: 'hello', v: 1, maxFrameBytes: 65536 });
    const auth = await socket.next();
    assert.equal(auth.t, 'auth');
    socket.send({ t: 'error', id: auth.t === 'auth' ? auth.id : '', code: 'unauthenticated', message: 'bad token' });
    socket.close(CLOSE_CODES.authFailed, 'unauthenticated');
    await assert.rejects(opened, (error: SotongError) => error.code === 'unauthenticated');
    assert.deepEqual(states(), ['connecting', 'closed']);
    await socket.closed.promise;
    assert.equal(server.connections, 1);
  }));

test('close code 4001 after the session began also stops reconnecting', () =>
  withServer(async (server) => {
    const { connection, statuses } = setup(server);
    const opened = connection.open();
    const socket = await server.accept();
    await socket.handshake(authResult({}));
    await opened;
    socket.close(CLOSE_CODES.authFailed, 'token revoked');
    await waitFor(() => connection.status.state === 'closed', 'the close');
    const closed = statuses.at(-1);
    assert.equal(closed?.state === 'closed' && closed.error?.code, 'unauthenticated');
  }));

test('pings at half the heartbeat interval, and drops a silent server', () =>
  withServer(async (server) => {
    const { connection, states } = setup(server);
    const opened = connection.open();
    const socket = await server.accept();
    await socket.handshake(authResult({}, { heartbeatMs: 40 }));
    await opened;
    assert.deepEqual(await socket.next({ pings: true }), { t: 'ping' });
    // The fake server never answers pings: the client gives the socket up and connects again.
    const second = await server.accept();
    assert.ok(states().includes('reconnecting'));
    connection.close();
    second.close();
  }));

test('a server that never says hello is dropped after the request timeout', () =>
  withServer(async (server) => {
    const { connection } = setup(server, { requestTimeoutMs: 50 });
    void connection.open().catch(() => {});
    await server.accept();
    await server.accept();
    connection.close();
  }));

/** Credentials that hand out numbered tokens and "sign" by naming the challenge; `refuse` makes the next renewal fail. */
function fakeCredentials() {
  const calls: { challenge: string | undefined; transport: string }[] = [];
  let generation = 1;
  let invalidated = 0;
  let refusal: SotongError | undefined;
  const credentials = {
    httpHeaders: async () => ({}),
    connectProof: async (challenge: string | undefined, transport: string) => {
      calls.push({ challenge, transport });
      if (refusal) throw refusal;
      return { token: `token-${generation}`, proof: `signed:${challenge}` };
    },
    invalidate: () => {
      invalidated += 1;
      generation += 1;
    },
  };
  return { credentials, calls, invalidated: () => invalidated, refuse: (error: SotongError) => (refusal = error) };
}

test('with credentials, each connection signs its own hello challenge', () =>
  withServer(async (server) => {
    const fake = fakeCredentials();
    const { connection } = setup(server, { credentials: fake.credentials, token: undefined });
    const opened = connection.open();
    const socket = await server.accept();
    socket.send({ t: 'hello', v: 1, maxFrameBytes: 65536, challenge: 'nonce-1' });
    const auth = await socket.next();
    assert.deepEqual(auth.t === 'auth' && { token: auth.token, proof: auth.proof }, { token: 'token-1', proof: 'signed:nonce-1' });
    assert.deepEqual(fake.calls, [{ challenge: 'nonce-1', transport: 'websocket' }]);
    socket.send({ t: 'result', id: auth.t === 'auth' ? auth.id : '', data: authResult({}) });
    await opened;
    connection.close();
  }));

test('an expired token (refused with no device reason) is renewed and the connection tried again', () =>
  withServer(async (server) => {
    const fake = fakeCredentials();
    const { connection } = setup(server, { credentials: fake.credentials, token: undefined });
    const opened = connection.open();
    const first = await server.accept();
    first.send({ t: 'hello', v: 1, maxFrameBytes: 65536, challenge: 'a' });
    const refused = await first.next();
    first.send({ t: 'error', id: refused.t === 'auth' ? refused.id : '', code: 'unauthenticated', message: 'invalid or expired token' });
    const second = await server.accept();
    second.send({ t: 'hello', v: 1, maxFrameBytes: 65536, challenge: 'b' });
    const auth = await second.next();
    assert.equal(fake.invalidated(), 1);
    assert.deepEqual(auth.t === 'auth' && { token: auth.token, proof: auth.proof }, { token: 'token-2', proof: 'signed:b' });
    second.send({ t: 'result', id: auth.t === 'auth' ? auth.id : '', data: authResult({}) });
    await opened;
    connection.close();
  }));

test('a device refusal while renewing (revoked, pending) stops for good', () =>
  withServer(async (server) => {
    const fake = fakeCredentials();
    fake.refuse(new SotongError('unauthenticated', 'this device was revoked', { reason: 'device_revoked' }));
    const { connection, states } = setup(server, { credentials: fake.credentials, token: undefined });
    const opened = connection.open();
    const socket = await server.accept();
    socket.send({ t: 'hello', v: 1, maxFrameBytes: 65536, challenge: 'c' });
    await assert.rejects(opened, (error: SotongError) => (error.details as { reason?: string }).reason === 'device_revoked');
    assert.deepEqual(states(), ['connecting', 'closed']);
    await socket.closed.promise;
    assert.equal(server.connections, 1, 'no reconnect');
  }));
