import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

/** Invariant: retries are harmless. */
describe('retried sends', () => {
  let server: SpawnedServer;
  let alice: Person;

  before(async () => {
    server = await spawnServer();
    alice = await person(server, 'Alice');
  });
  after(() => server?.stop());

  it('a send retried with the same client id creates one message, on any transport', async () => {
    const a = await alice.connect();
    const channel = await a.call<ChannelView>('channel.create', { name: 'retry' });
    const args = { channelId: channel.id, clientMsgId: 'same-id', text: 'only once' };
    const [first, second] = await Promise.all([a.call<Message>('message.send', args), a.call<Message>('message.send', args)]);
    const viaRest = await server.request<Message>('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: 'same-id', text: 'only once' }, alice.token);
    const again = await a.call<Message>('message.send', args);
    assert.equal(second.id, first.id);
    assert.equal(viaRest.id, first.id);
    assert.equal(again.id, first.id);
    const page = await a.call<{ messages: Message[] }>('messages.list', { channelId: channel.id });
    assert.equal(page.messages.filter((m) => m.clientMsgId === 'same-id').length, 1);
    const posted = a.events(channel.id).filter((e) => e.type === 'message.posted');
    assert.equal(posted.length, 1, 'one event for one message');
    a.close();
  });
});
