import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { lengthPrefix } from '../src/transports/length-prefixed.js';
import { TcpClient } from './support/frame-clients.js';
import { deviceOf } from '../src/testing.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

describe('raw TCP transport (4-byte big-endian length-prefixed JSON frames)', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;

  before(async () => {
    server = await spawnServer({ env: { SOTONG_TCP_PORT: '0', SOTONG_MAX_FRAME_BYTES: '4096', SOTONG_IDLE_TIMEOUT_MS: '1500' } });
    [alice, bob] = await Promise.all([person(server, 'Alice'), person(server, 'Bob')]);
  });
  after(() => server?.stop());

  it('carries the WebSocket protocol both ways: a TCP post reaches a WebSocket client and back', async () => {
    const tcp = await TcpClient.connect(server.tcpPort!, alice.token);
    const ws = await bob.connect();
    const channel = await tcp.call<ChannelView>('channel.create', { name: 'tcp-room', memberIds: [bob.user.id] });
    await ws.waitFor((f) => f.t === 'subscribed' && f.channelId === channel.id);
    const sent = await tcp.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'tcp-1', text: 'from tcp' });
    await ws.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === sent.id);
    await ws.call('message.send', { channelId: channel.id, clientMsgId: 'ws-1', text: 'from ws' });
    await tcp.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.text === 'from ws');
    tcp.close();
    ws.close();
  });

  it('reassembles frames split across reads and splits frames sharing one read', async () => {
    const tcp = await TcpClient.open(server.tcpPort!);
    const hello = tcp.frames.find((f) => f.t === 'hello');
    const proof = deviceOf(alice.token)!.challengeProof(alice.token, (hello as { challenge: string }).challenge, 'tcp');
    const auth = Buffer.from(JSON.stringify({ t: 'auth', id: 'a', v: 1, token: alice.token, proof }));
    for (const byte of Buffer.concat([lengthPrefix(auth), auth])) {
      tcp.socket.write(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    await tcp.result('a');
    const frames = ['m1', 'm2'].map((id) => Buffer.from(JSON.stringify({ t: 'cmd', id, cmd: 'me.get', args: {} })));
    tcp.socket.write(Buffer.concat(frames.flatMap((f) => [lengthPrefix(f), f])));
    assert.equal(((await tcp.result('m1')) as { id: string }).id, alice.user.id);
    assert.equal(((await tcp.result('m2')) as { id: string }).id, alice.user.id);
    tcp.close();
  });

  it('answers a malformed frame and an oversized frame with typed errors and stays open', async () => {
    const tcp = await TcpClient.connect(server.tcpPort!, alice.token);
    tcp.sendRaw('not json');
    const bad = await tcp.waitFor((f) => f.t === 'error' && f.code === 'bad_request');
    assert.equal((bad as { message: string }).message, 'a frame is one JSON object');
    tcp.sendRaw(Buffer.alloc(5000, 0x20));
    const large = await tcp.waitFor((f) => f.t === 'error' && f.code === 'too_large');
    assert.deepEqual((large as { details: unknown }).details, { limit: 4096 });
    const me = await tcp.call<{ id: string }>('me.get');
    assert.equal(me.id, alice.user.id);
    tcp.close();
  });

  it('a length far beyond the limit ends the connection with a typed error and close frame', async () => {
    const tcp = await TcpClient.connect(server.tcpPort!, alice.token);
    tcp.socket.write(lengthPrefix(Buffer.alloc(0)).fill(0x7f, 0, 1));
    const closed = await tcp.waitForClose();
    assert.equal(closed.code, 1009);
    assert.ok(tcp.frames.some((f) => f.t === 'error' && f.code === 'too_large'));
  });

  it('closes a connection that sends nothing for idleTimeoutMs, saying why', async () => {
    const tcp = await TcpClient.connect(server.tcpPort!, alice.token);
    const closed = await tcp.waitForClose(5000);
    assert.deepEqual(closed, { code: 4011, reason: 'idle_timeout' });
  });
});
