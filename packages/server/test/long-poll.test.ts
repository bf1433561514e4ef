import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { LongPollClient } from './support/frame-clients.js';
import { authHeaders, person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

describe('HTTP long-polling transport', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;

  before(async () => {
    server = await spawnServer({ env: { SOTONG_LONGPOLL_HOLD_MS: '3000', SOTONG_IDLE_TIMEOUT_MS: '2000' } });
    [alice, bob] = await Promise.all([person(server, 'Alice'), person(server, 'Bob')]);
  });
  after(() => server?.stop());

  it('a held poll returns as soon as an event arrives, and commands go over plain HTTP', async () => {
    const lp = await LongPollClient.connect(server.httpUrl, alice.token);
    const ws = await bob.connect();
    const channel = await lp.call<ChannelView>('channel.create', { name: 'lp-room', memberIds: [bob.user.id] });
    await ws.waitFor((f) => f.t === 'subscribed' && f.channelId === channel.id);
    // Let the poll settle into waiting, then post: it must come back well before the hold time.
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const sent = await ws.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'ws-1', text: 'to lp' });
    await lp.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === sent.id);
    assert.ok(Date.now() - started < 1000, `delivered in ${Date.now() - started} ms, not after the 3 s hold`);
    const mine = await lp.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'lp-1', text: 'from lp' });
    await ws.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === mine.id);
    lp.close();
    ws.close();
  });

  it('an empty poll is held for the configured time and then answered with no frames', async () => {
    const lp = await LongPollClient.connect(server.httpUrl, alice.token);
    await new Promise((r) => setTimeout(r, 100));
    const path = `/lp/${lp.id}/poll?from=1000000&wait=500`;
    const res = await fetch(`${server.httpUrl}${path}`, { headers: authHeaders(alice.token, 'GET', path) });
    const started = Date.now();
    const body = (await res.json()) as { frames: unknown[] };
    assert.deepEqual(body.frames, []);
    assert.ok(Date.now() - started < 600);
    lp.close();
  });

  it('a poll answer lost on the way is sent again: frames stay until polled past', async () => {
    const { id } = (await (await fetch(`${server.httpUrl}/lp`, { method: 'POST' })).json()) as { id: string };
    const poll = async (from: number) =>
      (await (await fetch(`${server.httpUrl}/lp/${id}/poll?from=${from}&wait=0`)).json()) as { next: number; frames: { t: string }[] };
    const first = await poll(0);
    assert.deepEqual([first.next, first.frames.map((f) => f.t)], [1, ['hello']]);
    const lost = await poll(0);
    assert.deepEqual(lost.frames.map((f) => f.t), ['hello'], 'not yet acknowledged: sent again');
    await poll(1);
    assert.deepEqual((await poll(0)).frames, [], 'acknowledged by polling from 1: gone');
    await fetch(`${server.httpUrl}/lp/${id}`, { method: 'DELETE' });
  });

  it('once signed in, every request must carry the signed-in device\'s proof, as REST requests do', async () => {
    const lp = await LongPollClient.connect(server.httpUrl, alice.token);
    const path = `/lp/${lp.id}/poll?from=0&wait=0`;
    const tokenOnly = await fetch(`${server.httpUrl}${path}`, { headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(tokenOnly.status, 401);
    assert.deepEqual(((await tokenOnly.json()) as { details?: unknown }).details, { reason: 'proof_missing' });
    const otherDevice = await fetch(`${server.httpUrl}${path}`, { headers: authHeaders(bob.token, 'GET', path) });
    assert.equal(otherDevice.status, 403);
    assert.equal(((await otherDevice.json()) as { code: string }).code, 'forbidden');
    const headers = authHeaders(alice.token, 'GET', path);
    const signed = await fetch(`${server.httpUrl}${path}`, { headers });
    assert.equal(signed.status, 200);
    const replayed = await fetch(`${server.httpUrl}${path}`, { headers });
    assert.equal(replayed.status, 401, 'the same signed request a second time');
    assert.deepEqual(((await replayed.json()) as { details?: unknown }).details, { reason: 'proof_replayed' });
    lp.close();
  });

  it('malformed frames and unknown connections get typed errors', async () => {
    const lp = await LongPollClient.connect(server.httpUrl, alice.token);
    lp.sendRaw('{"t":"cmd"');
    await lp.waitFor((f) => f.t === 'error' && f.code === 'bad_request');
    const res = await fetch(`${server.httpUrl}/lp/nope/poll`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { code: string }).code, 'not_found');
    lp.close();
  });

  it('a client that stops polling is closed after idleTimeoutMs, and its session leaves the hub', async () => {
    const lp = await LongPollClient.connect(server.httpUrl, alice.token);
    lp.drop();
    await new Promise((r) => setTimeout(r, 3500));
    const path = `/lp/${lp.id}/poll?from=0&wait=0`;
    const res = await fetch(`${server.httpUrl}${path}`, { headers: authHeaders(alice.token, 'GET', path) });
    const body = (await res.json()) as { frames: { t: string; code?: number; reason?: string }[] };
    assert.deepEqual(body.frames.at(-1), { t: 'close', code: 4011, reason: 'idle_timeout' });
  });
});
