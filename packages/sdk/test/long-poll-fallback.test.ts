import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { spawnServer, type SpawnedServer } from '@sotong/server/testing';
import type { ChannelEvent, ChannelView, User } from '@sotong/protocol';
import { SotongClient, type ConnectionStatus } from '../src/index.js';
import { waitFor } from './fixtures.js';

const PASSWORD = 'a password for the long-poll tests';

/** An HTTP proxy in front of the server that, like many corporate proxies, may refuse WebSocket upgrades. */
async function proxyTo(target: URL): Promise<{ url: string; blockWebSockets: boolean; server: Server }> {
  const state = { url: '', blockWebSockets: true, server: createServer() };
  state.server.on('request', (req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  state.server.on('upgrade', (req, socket, head) => {
    if (state.blockWebSockets) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`, ...Object.entries(req.headers).map(([k, v]) => `${k}: ${String(v)}`), '', ''];
      upstream.write(lines.join('\r\n'));
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  const address = state.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  state.url = `http://127.0.0.1:${address.port}`;
  return state;
}

describe('SDK transport fallback to HTTP long-polling', () => {
  let server: SpawnedServer;
  let refusing: SpawnedServer;
  const clients: SotongClient[] = [];

  before(async () => {
    [server, refusing] = await Promise.all([spawnServer(), spawnServer({ env: { SOTONG_WEBSOCKET_ENABLED: 'false' } })]);
  });
  after(async () => {
    for (const c of clients) await c.close();
    await Promise.all([server?.stop(), refusing?.stop()]);
  });

  async function account(on: SpawnedServer, name: string): Promise<{ user: User; email: string }> {
    const email = `${name}-${Math.random().toString(36).slice(2, 8)}@sotong.test`;
    return { user: await on.createUser(email, name, PASSWORD), email };
  }

  it('a server that refuses the upgrade is reached by long-polling, with live events both ways', async () => {
    const [alice, bob] = await Promise.all([account(refusing, 'alice'), account(refusing, 'bob')]);
    const a = await SotongClient.login(refusing.httpUrl, alice.email, PASSWORD, { WebSocket: WebSocket as never, reconnect: { baseMs: 20, maxMs: 200 } });
    const b = await SotongClient.login(refusing.httpUrl, bob.email, PASSWORD, { WebSocket: WebSocket as never, reconnect: { baseMs: 20, maxMs: 200 } });
    clients.push(a, b);
    const statuses: ConnectionStatus[] = [];
    a.on('status', (s) => statuses.push(s));
    await Promise.all([a.connect(), b.connect()]);
    assert.deepEqual(statuses.at(-1), { state: 'ready', transport: 'long-poll' });
    const channel = (await a.call('channel.create', { name: `lp-${Date.now()}`, memberIds: [bob.user.id] })) as ChannelView;
    const seen: ChannelEvent[] = [];
    b.on('event', (e) => seen.push(e));
    await a.send(channel.id, 'over long-poll');
    await waitFor(() => seen.some((e) => e.type === 'message.posted' && e.message.text === 'over long-poll'), 'Bob to receive it');
  });

  it('behind a proxy that blocks WebSockets it long-polls, and moves back up once the proxy lets them through, with no hole', async () => {
    const proxy = await proxyTo(new URL(server.httpUrl));
    try {
      const [alice, bob] = await Promise.all([account(server, 'alice'), account(server, 'bob')]);
      const a = await SotongClient.login(proxy.url, alice.email, PASSWORD, { WebSocket: WebSocket as never, upgradeProbeMs: 300, reconnect: { baseMs: 20, maxMs: 200 } });
      const b = await SotongClient.login(server.httpUrl, bob.email, PASSWORD, { WebSocket: WebSocket as never });
      clients.push(a, b);
      const statuses: ConnectionStatus[] = [];
      a.on('status', (s) => statuses.push(s));
      await Promise.all([a.connect(), b.connect()]);
      assert.deepEqual(statuses.at(-1), { state: 'ready', transport: 'long-poll' });
      const channel = (await b.call('channel.create', { name: `up-${Date.now()}`, memberIds: [alice.user.id] })) as ChannelView;
      const seen: ChannelEvent[] = [];
      a.on('event', (e) => seen.push(e));
      for (let i = 0; i < 3; i++) await b.send(channel.id, `lp ${i}`);
      await waitFor(() => seen.filter((e) => e.type === 'message.posted').length === 3, 'three over long-poll');

      proxy.blockWebSockets = false;
      const posting = (async () => {
        for (let i = 0; i < 20; i++) {
          await b.send(channel.id, `during ${i}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      })();
      await waitFor(() => statuses.some((s, i) => i > 0 && s.state === 'ready' && s.transport === 'websocket'), 'the move to WebSocket', 5000);
      await posting;
      await waitFor(() => seen.filter((e) => e.type === 'message.posted').length === 23, 'all 23 messages');
      const seqs = seen.filter((e) => e.channelId === channel.id).map((e) => e.seq);
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i), 'each seq once, in order');
    } finally {
      proxy.server.closeAllConnections();
      proxy.server.close();
    }
  });
});
