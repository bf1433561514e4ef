import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import type { TestClient } from './support/ws-client.js';

/** Invariant: one permission check, on every route. */
describe('a non-member cannot reach a private channel or a DM by any route', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  let eve: Person;
  let guest: Person;
  let eveSocket: TestClient;
  const secret = '비밀회의록 launch plan';
  let privateChannel: ChannelView;
  let dm: ChannelView;
  let privateMsg: Message;
  let dmMsg: Message;

  before(async () => {
    server = await spawnServer();
    [alice, bob, eve, guest] = await Promise.all([person(server, 'Alice'), person(server, 'Bob'), person(server, 'Eve'), person(server, 'Guest', 'guest')]);
    const a = await alice.connect();
    privateChannel = await a.call('channel.create', { name: 'secret-project', kind: 'private', memberIds: [bob.user.id] });
    privateMsg = await a.call('message.send', { channelId: privateChannel.id, clientMsgId: 'p1', text: secret });
    await a.call('message.send', { channelId: privateChannel.id, clientMsgId: 'p2', text: 'reply', threadRootId: privateMsg.id });
    dm = await a.call('dm.open', { userIds: [bob.user.id] });
    dmMsg = await a.call('message.send', { channelId: dm.id, clientMsgId: 'd1', text: secret });
    a.close();
    eveSocket = await eve.connect({ [privateChannel.id]: 0, [dm.id]: 0 });
  });
  after(async () => {
    eveSocket?.close();
    await server?.stop();
  });

  it('socket: nothing is sent on connect, and every read or write is refused', async () => {
    assert.equal(eveSocket.events().length, 0, 'cursors for foreign channels are ignored');
    for (const channel of [privateChannel, dm]) {
      const msg = channel === dm ? dmMsg : privateMsg;
      const attempts: [string, object][] = [
        ['message.send', { channelId: channel.id, clientMsgId: 'x', text: 'let me in' }],
        ['messages.list', { channelId: channel.id }],
        ['events.sync', { channelId: channel.id, after: 0 }],
        ['channel.get', { channelId: channel.id }],
        ['channel.members', { channelId: channel.id }],
        ['channel.join', { channelId: channel.id }],
        ['channel.markRead', { channelId: channel.id, seq: 1 }],
        ['pins.list', { channelId: channel.id }],
        ['typing', { channelId: channel.id }],
        ['thread.get', { messageId: msg.id }],
        ['message.history', { messageId: msg.id }],
        ['reaction.toggle', { messageId: msg.id, emoji: 'eyes' }],
        ['message.pin', { messageId: msg.id }],
        ['message.edit', { messageId: msg.id, text: 'mine now' }],
        ['message.delete', { messageId: msg.id }],
        ['channel.invite', { channelId: channel.id, userIds: [eve.user.id] }],
      ];
      for (const [cmd, args] of attempts) {
        await assert.rejects(eveSocket.call(cmd, args), (err: { code: string }) => {
          assert.ok(['not_found', 'forbidden'].includes(err.code), `${cmd} refused with a typed error, got ${err.code}`);
          return true;
        });
      }
    }
    const search = await eveSocket.call<{ hits: unknown[] }>('search', { query: '비밀' });
    assert.equal(search.hits.length, 0, 'search returns nothing from channels one cannot read');
    const scoped = await eveSocket.call<{ hits: unknown[] }>('search', { query: 'launch', channelId: privateChannel.id });
    assert.equal(scoped.hits.length, 0);
  });

  it('REST: the same refusals with matching HTTP statuses', async () => {
    const cases: [string, string, unknown?][] = [
      ['GET', `/api/v1/channels/${privateChannel.id}/messages`],
      ['GET', `/api/v1/channels/${dm.id}/messages`],
      ['GET', `/api/v1/channels/${dm.id}/events?after=0`],
      ['POST', `/api/v1/channels/${privateChannel.id}/messages`, { clientMsgId: 'r', text: 'hi' }],
      ['GET', `/api/v1/messages/${privateMsg.id}/thread`],
      ['PATCH', `/api/v1/messages/${dmMsg.id}`, { text: 'edited by eve' }],
      ['DELETE', `/api/v1/messages/${dmMsg.id}`],
    ];
    for (const [method, path, body] of cases) {
      await assert.rejects(server.request(method, path, body, eve.token), (err: { status: number; body: { code: string } }) => {
        assert.equal(err.status, 404, `${method} ${path}`);
        assert.equal(err.body.code, 'not_found');
        return true;
      });
    }
    const search = await server.request<{ hits: unknown[] }>('GET', `/api/v1/search?query=${encodeURIComponent('launch')}`, undefined, eve.token);
    assert.equal(search.hits.length, 0);
    const bobSearch = await server.request<{ hits: unknown[] }>('GET', `/api/v1/search?query=${encodeURIComponent('launch')}`, undefined, bob.token);
    assert.equal(bobSearch.hits.length, 2, 'a member finds it in both places');
  });

  it('guests see only what they were invited to; public channels are open to members', async () => {
    const a = await alice.connect();
    const open = await a.call<ChannelView>('channel.create', { name: 'town-square' });
    await a.call('message.send', { channelId: open.id, clientMsgId: 'o1', text: 'public news' });
    const g = await guest.connect();
    await assert.rejects(g.call('messages.list', { channelId: open.id }), { code: 'not_found' });
    await assert.rejects(g.call('channel.join', { channelId: open.id }), { code: 'not_found' });
    await assert.rejects(g.call('channel.create', { name: 'guest-room' }), { code: 'forbidden' });
    assert.deepEqual((await g.call<{ channels: unknown[] }>('channels.browse')).channels, []);
    const eveView = await eveSocket.call<{ messages: Message[] }>('messages.list', { channelId: open.id });
    assert.equal(eveView.messages.length, 1, 'a workspace member may read a public channel');
    await a.call('channel.invite', { channelId: open.id, userIds: [guest.user.id] });
    await g.waitFor((f) => f.t === 'subscribed' && f.channelId === open.id);
    assert.equal((await g.call<{ messages: Message[] }>('messages.list', { channelId: open.id })).messages.length, 1);
    a.close();
    g.close();
  });

  it('no token, a bad token: refused on both transports', async () => {
    await assert.rejects(server.request('GET', '/api/v1/channels'), { status: 401 });
    await assert.rejects(server.request('GET', '/api/v1/channels', undefined, 'st_forged'), { status: 401 });
  });
});
