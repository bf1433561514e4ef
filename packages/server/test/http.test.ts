import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView } from '@sotong/protocol';
import { authHeaders, person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { TEST_PASSWORD } from '../src/testing.js';

describe('operations surface', () => {
  let server: SpawnedServer;
  let alice: Person;

  before(async () => {
    server = await spawnServer();
    alice = await person(server, 'Alice');
  });
  after(() => server?.stop());

  it('answers health and readiness', async () => {
    assert.equal((await fetch(`${server.httpUrl}/healthz`)).status, 200);
    const ready = await fetch(`${server.httpUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready' });
  });

  it('serves Prometheus metrics that move with traffic', async () => {
    const a = await alice.connect();
    const channel = await a.call<ChannelView>('channel.create', { name: 'metrics' });
    await a.call('message.send', { channelId: channel.id, clientMsgId: 'x', text: 'count me' });
    const res = await fetch(`${server.httpUrl}/metrics`);
    const text = await res.text();
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(text, /sotong_connections\{transport="websocket"\} 1/);
    assert.match(text, /sotong_commands_total\{command="message.send",outcome="ok"\} 1/);
    assert.match(text, /sotong_events_total\{type="message.posted"\} 1/);
    assert.match(text, /sotong_send_to_deliver_seconds_count 1/);
    assert.match(text, /sotong_store_transaction_seconds_count \d+/);
    assert.match(text, /sotong_outbound_queue_bytes \d+/);
    a.close();
  });

  it('publishes an OpenAPI 3 document generated from the command schemas', async () => {
    const doc = (await (await fetch(`${server.httpUrl}/api/v1/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, { operationId?: string; requestBody?: unknown; parameters?: { name: string; in: string }[] }>>;
    };
    assert.match(doc.openapi, /^3\./);
    const send = doc.paths['/api/v1/channels/{channelId}/messages']?.post;
    assert.equal(send?.operationId, 'message.send');
    assert.ok(send?.requestBody, 'the body schema is documented');
    assert.ok(send?.parameters?.some((p) => p.name === 'channelId' && p.in === 'path'));
    const list = doc.paths['/api/v1/channels/{channelId}/messages']?.get;
    assert.ok(list?.parameters?.some((p) => p.name === 'before' && p.in === 'query'));
    assert.ok(doc.paths['/api/v1/search']?.get);
    assert.ok(doc.paths['/api/v1/auth/login']?.post);
  });

  it('REST history pages before, after and around a message', async () => {
    const channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'paging' }, alice.token);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const m = await server.request<{ id: string }>('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: `p${i}`, text: `page ${i}` }, alice.token);
      ids.push(m.id);
    }
    type Page = { messages: { text: string; seq: number }[]; hasMoreBefore: boolean; hasMoreAfter: boolean };
    const latest = await server.request<Page>('GET', `/api/v1/channels/${channel.id}/messages?limit=3`, undefined, alice.token);
    assert.deepEqual(latest.messages.map((m) => m.text), ['page 7', 'page 8', 'page 9']);
    assert.equal(latest.hasMoreBefore, true);
    const older = await server.request<Page>('GET', `/api/v1/channels/${channel.id}/messages?limit=3&before=${latest.messages[0]!.seq}`, undefined, alice.token);
    assert.deepEqual(older.messages.map((m) => m.text), ['page 4', 'page 5', 'page 6']);
    const newer = await server.request<Page>('GET', `/api/v1/channels/${channel.id}/messages?limit=2&after=${older.messages[2]!.seq}`, undefined, alice.token);
    assert.deepEqual(newer.messages.map((m) => m.text), ['page 7', 'page 8']);
    assert.equal(newer.hasMoreAfter, true);
    const around = await server.request<Page>('GET', `/api/v1/channels/${channel.id}/messages?limit=4&around=${ids[5]}`, undefined, alice.token);
    assert.deepEqual(around.messages.map((m) => m.text), ['page 4', 'page 5', 'page 6', 'page 7']);
  });

  it('logs are JSON with request ids and hold no password, token or message text', async () => {
    const token = await server.login(alice.user.email, TEST_PASSWORD);
    const channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'private-words' }, token);
    const res = await fetch(`${server.httpUrl}/api/v1/channels/${channel.id}/messages`, {
      method: 'POST',
      headers: { ...authHeaders(token, 'POST', `/api/v1/channels/${channel.id}/messages`), 'content-type': 'application/json', 'x-request-id': 'trace-me-123' },
      body: JSON.stringify({ clientMsgId: 'l1', text: '극비 인수합병 계획' }),
    });
    assert.equal(res.status, 200);
    // The child's stdout arrives on its own schedule: wait for this request's lines.
    for (let i = 0; i < 100 && !server.output().includes('trace-me-123'); i++) await new Promise((r) => setTimeout(r, 20));
    const log = server.output();
    assert.ok(!log.includes(TEST_PASSWORD), 'no password');
    assert.ok(!log.includes(token), 'no session token');
    assert.ok(!log.includes('극비'), 'no message content');
    const lines = log.split('\n').filter((l) => l.startsWith('{'));
    assert.ok(lines.every((l) => JSON.parse(l)), 'every log line is JSON');
    assert.ok(lines.some((l) => (JSON.parse(l) as { reqId?: string }).reqId === 'trace-me-123'));
  });
});
