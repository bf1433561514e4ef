import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { TestClient } from './support/ws-client.js';

/** Invariant: bad input gets a clear, typed error, changes nothing, and others are served on. */
describe('malformed and oversized input', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;

  before(async () => {
    server = await spawnServer({ env: { SOTONG_MAX_FRAME_BYTES: '4096', SOTONG_MAX_MESSAGE_CHARS: '1000', SOTONG_AUTH_TIMEOUT_MS: '500' } });
    [alice, bob] = await Promise.all([person(server, 'Alice'), person(server, 'Bob')]);
  });
  after(() => server?.stop());

  it('answers each bad frame with a typed error and keeps the connection and everyone else working', async () => {
    const a = await alice.connect();
    const b = await bob.connect();
    const channel = await a.call<ChannelView>('channel.create', { name: 'robust', memberIds: [bob.user.id] });
    const before = channel.lastSeq;

    a.sendRaw('{not json');
    await a.waitFor((f) => f.t === 'error' && f.code === 'bad_request' && /JSON/.test(f.message));
    a.sendRaw(JSON.stringify({ t: 'launch-missiles', id: 'x1' }));
    await a.waitFor((f) => f.t === 'error' && f.id === 'x1' && f.code === 'bad_request');
    a.sendRaw(JSON.stringify({ t: 'cmd', id: 'big', cmd: 'message.send', args: { text: 'x'.repeat(10_000) } }));
    await a.waitFor((f) => f.t === 'error' && f.code === 'too_large');
    await assert.rejects(a.call('message.send', { channelId: channel.id, clientMsgId: 'long', text: '가'.repeat(1001) }), { code: 'too_large' });
    await assert.rejects(a.call('message.send', { channelId: channel.id, clientMsgId: 'blank', text: '   ' }), { code: 'bad_request' });
    await assert.rejects(a.call('message.send', { channelId: channel.id, text: 'no client id' }), { code: 'bad_request' });
    await assert.rejects(a.call('no.such.command', {}), { code: 'bad_request' });
    await assert.rejects(a.call('messages.list', { channelId: channel.id, limit: 100_000 }), { code: 'bad_request' });

    const after = await b.call<ChannelView>('channel.get', { channelId: channel.id });
    assert.equal(after.lastSeq, before, 'nothing was written');
    const ok = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'fine', text: 'still here' });
    await b.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === ok.id);
    a.close();
    b.close();
  });

  it('a frame far beyond the limit closes only that connection', async () => {
    const a = await alice.connect();
    const b = await bob.connect();
    a.sendRaw('x'.repeat(4096 * 32));
    const closed = await a.waitForClose();
    assert.equal(closed.code, 1009);
    const channel = await b.call<ChannelView>('channel.create', { name: 'still-serving' });
    assert.ok(channel.id);
    b.close();
  });

  it('commands before auth, bad tokens and silent clients are refused', async () => {
    const anon = await TestClient.open(server.wsUrl);
    await assert.rejects(anon.call('channels.list'), { code: 'unauthenticated' });
    await assert.rejects(anon.auth('st_not-a-token'), { code: 'unauthenticated' });
    assert.equal((await anon.waitForClose()).code, 4001);
    const silent = await TestClient.open(server.wsUrl);
    assert.equal((await silent.waitForClose()).code, 4002, 'no auth within the timeout');
  });

  it('REST answers bad input with the same codes', async () => {
    await assert.rejects(server.request('POST', '/api/v1/auth/login', { email: 'x' }), (err: { status: number; body: { code: string } }) => {
      assert.equal(err.status, 400);
      assert.equal(err.body.code, 'bad_request');
      return true;
    });
    await assert.rejects(server.request('POST', '/api/v1/auth/login', { email: alice.user.email, password: 'wrong password!' }), { status: 401 });
    const channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'rest-limits' }, alice.token);
    await assert.rejects(
      server.request('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: 'l', text: 'a'.repeat(1001) }, alice.token),
      (err: { status: number; body: { code: string } }) => err.status === 413 && err.body.code === 'too_large',
    );
    await assert.rejects(server.request('GET', '/api/v1/nowhere', undefined, alice.token), { status: 404 });
  });
});
