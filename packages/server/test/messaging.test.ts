import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, Message } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import type { TestClient } from './support/ws-client.js';

describe('messaging over the socket', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let a: TestClient;
  let b: TestClient;
  let channel: ChannelView;

  before(async () => {
    server = await spawnServer();
    [alice, bob, carol] = await Promise.all([person(server, 'Alice'), person(server, 'Bob'), person(server, 'Carol')]);
    [a, b] = await Promise.all([alice.connect(), bob.connect()]);
    channel = await a.call('channel.create', { name: 'general', memberIds: [bob.user.id] });
  });
  after(async () => {
    a?.close();
    b?.close();
    await server?.stop();
  });

  it('subscribes members of a new channel at once and delivers posts to them in order', async () => {
    await b.waitFor((f) => f.t === 'subscribed' && f.channelId === channel.id);
    const first = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'c1', text: 'hello bob' });
    const second = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'c2', text: 'second' });
    assert.equal(second.seq, first.seq + 1);
    await b.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === second.id);
    const posted = b.events(channel.id).filter((e) => e.type === 'message.posted');
    assert.deepEqual(
      posted.map((e) => (e.type === 'message.posted' ? e.message.text : '')),
      ['hello bob', 'second'],
    );
    const seqs = b.events(channel.id).map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'events arrive in seq order');
  });

  it('shows per-message unread counts that fall as members read', async () => {
    const msg = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'u1', text: 'who read this?' });
    assert.equal(msg.unreadCount, 1, 'only bob has not read it');
    await b.call('channel.markRead', { channelId: channel.id, seq: msg.seq });
    const signal = await a.waitFor((f) => f.t === 'signal' && f.s.kind === 'read' && f.s.userId === bob.user.id && f.s.seq >= msg.seq);
    assert.ok(signal);
    const page = await a.call<{ messages: Message[] }>('messages.list', { channelId: channel.id });
    assert.equal(page.messages.find((m) => m.id === msg.id)?.unreadCount, 0);
  });

  it('counts unread messages and mentions per member', async () => {
    await a.call('message.send', { channelId: channel.id, clientMsgId: 'm1', text: `hey <@${bob.user.id}> look, @channel` });
    await a.call('message.send', { channelId: channel.id, clientMsgId: 'm2', text: 'plain' });
    const view = await b.call<ChannelView>('channel.get', { channelId: channel.id });
    assert.equal(view.unreadCount, 2);
    assert.equal(view.mentionCount, 1, 'a message that names me and @channel mentions me once');
    const read = await b.call('channel.markRead', { channelId: channel.id, seq: view.lastSeq });
    assert.deepEqual(read, { lastReadSeq: view.lastSeq, unreadCount: 0, mentionCount: 0 });
    const mine = await a.call<ChannelView>('channel.get', { channelId: channel.id });
    assert.equal(mine.unreadCount, 0, 'my own posts are not unread to me');
  });

  it('threads keep reply counts and their own order', async () => {
    const root = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 't0', text: 'thread root' });
    await b.call('message.send', { channelId: channel.id, clientMsgId: 't1', text: 'reply one', threadRootId: root.id });
    await a.call('message.send', { channelId: channel.id, clientMsgId: 't2', text: 'reply two', threadRootId: root.id });
    const thread = await b.call<{ root: Message; replies: Message[] }>('thread.get', { messageId: root.id });
    assert.equal(thread.root.replyCount, 2);
    assert.deepEqual(thread.replies.map((r) => r.text), ['reply one', 'reply two']);
    const page = await a.call<{ messages: Message[] }>('messages.list', { channelId: channel.id, limit: 100 });
    assert.ok(!page.messages.some((m) => m.threadRootId !== null), 'replies stay out of the channel history');
  });

  it('toggles reactions, pins, and keeps edit history', async () => {
    const msg = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'r1', text: 'draft' });
    assert.deepEqual(await b.call('reaction.toggle', { messageId: msg.id, emoji: '👍' }), { added: true });
    await a.call('reaction.toggle', { messageId: msg.id, emoji: '👍' });
    assert.deepEqual(await b.call('reaction.toggle', { messageId: msg.id, emoji: '👍' }), { added: false });
    await b.call('message.pin', { messageId: msg.id });
    const edited = await a.call<Message>('message.edit', { messageId: msg.id, text: 'final' });
    assert.equal(edited.text, 'final');
    assert.ok(edited.editedAt !== null);
    assert.deepEqual(edited.reactions, [{ emoji: '👍', userIds: [alice.user.id] }]);
    const history = await b.call<{ edits: { text: string }[] }>('message.history', { messageId: msg.id });
    assert.deepEqual(history.edits.map((e) => e.text), ['draft']);
    const pins = await b.call<{ messages: Message[] }>('pins.list', { channelId: channel.id });
    assert.deepEqual(pins.messages.map((m) => m.id), [msg.id]);
    await assert.rejects(b.call('message.edit', { messageId: msg.id, text: 'not mine' }), { code: 'forbidden' });
  });

  it('deletes leave a tombstone event and remove the content', async () => {
    const msg = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'd1', text: 'oops secret' });
    await a.call('message.edit', { messageId: msg.id, text: 'oops secret v2' });
    await a.call('message.delete', { messageId: msg.id });
    const tombstone = await b.waitFor((f) => f.t === 'event' && f.e.type === 'message.deleted' && f.e.messageId === msg.id);
    assert.ok(tombstone);
    const sync = await b.call<{ events: { type: string; message?: Message }[] }>('events.sync', { channelId: channel.id, after: msg.seq - 1 });
    const posted = sync.events.find((e) => e.type === 'message.posted');
    assert.equal(posted?.message?.deleted, true);
    assert.equal(posted?.message?.text, '', 'old events show the tombstone, not the text');
    assert.deepEqual((await b.call<{ edits: unknown[] }>('message.history', { messageId: msg.id })).edits, []);
    const found = await a.call<{ hits: unknown[] }>('search', { query: 'secret' });
    assert.equal(found.hits.length, 0);
  });

  it('a refused write in a group commit fails alone; the writes batched with it commit', async () => {
    const stranger = await carol.connect();
    const sends = Array.from({ length: 30 }, (_, i) =>
      i % 3 === 0
        ? stranger.call('message.send', { channelId: channel.id, clientMsgId: `intruder-${i}`, text: 'not a member' }).then(
            () => 'accepted',
            (err: { code: string }) => err.code,
          )
        : a.call<Message>('message.send', { channelId: channel.id, clientMsgId: `batch-${i}`, text: `batch ${i}` }).then(() => 'ok'),
    );
    const outcomes = await Promise.all(sends);
    stranger.close();
    assert.deepEqual(outcomes, Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 'forbidden' : 'ok')));
    const sync = await b.call<{ events: { seq: number }[] }>('events.sync', { channelId: channel.id, after: 0, limit: 1000 });
    sync.events.forEach((e, i) => assert.equal(e.seq, i + 1, 'no seq was burnt by the refused writes'));
  });

  it('one DM per pair, and group DMs', async () => {
    const dm = await a.call<ChannelView>('dm.open', { userIds: [bob.user.id] });
    const again = await b.call<ChannelView>('dm.open', { userIds: [alice.user.id] });
    assert.equal(dm.id, again.id);
    assert.equal(dm.kind, 'dm');
    const group = await a.call<ChannelView>('dm.open', { userIds: [bob.user.id, carol.user.id] });
    assert.equal(group.kind, 'group_dm');
    assert.deepEqual([...(group.memberIds ?? [])].sort(), [alice.user.id, bob.user.id, carol.user.id].sort());
  });

  it('membership changes move subscriptions at once', async () => {
    const c = await carol.connect();
    try {
      await a.call('channel.invite', { channelId: channel.id, userIds: [carol.user.id] });
      await c.waitFor((f) => f.t === 'subscribed' && f.channelId === channel.id);
      const msg = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'j1', text: 'welcome carol' });
      await c.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === msg.id);
      await c.call('channel.leave', { channelId: channel.id });
      await c.waitFor((f) => f.t === 'unsubscribed' && f.channelId === channel.id);
      const later = await a.call<Message>('message.send', { channelId: channel.id, clientMsgId: 'j2', text: 'after carol left' });
      await b.waitFor((f) => f.t === 'event' && f.e.type === 'message.posted' && f.e.message.id === later.id);
      assert.ok(!c.events(channel.id).some((e) => e.type === 'message.posted' && e.message.id === later.id));
    } finally {
      c.close();
    }
  });

  it('topic, purpose, rename, kick and archive are events in the channel log', async () => {
    const side = await a.call<ChannelView>('channel.create', { name: 'side-project', memberIds: [bob.user.id, carol.user.id] });
    await a.call('channel.update', { channelId: side.id, topic: '분기 계획', purpose: 'Q3 planning' });
    await a.call('channel.update', { channelId: side.id, name: 'side-project-q3' });
    await assert.rejects(a.call('channel.update', { channelId: side.id }), { code: 'bad_request' });
    await assert.rejects(b.call('channel.kick', { channelId: side.id, userId: carol.user.id }), { code: 'forbidden' });
    await a.call('channel.kick', { channelId: side.id, userId: carol.user.id });
    await assert.rejects(b.call('channel.archive', { channelId: side.id }), { code: 'forbidden' });
    await a.call('channel.archive', { channelId: side.id });
    await assert.rejects(b.call('message.send', { channelId: side.id, clientMsgId: 'late', text: 'too late' }), { code: 'forbidden' });
    const log = await b.call<{ events: { type: string; changes?: object; userId?: string }[] }>('events.sync', { channelId: side.id, after: 0 });
    assert.deepEqual(
      log.events.map((e) => e.type),
      ['channel.created', 'member.joined', 'member.joined', 'member.joined', 'channel.updated', 'channel.updated', 'member.left', 'channel.archived'],
    );
    assert.deepEqual(log.events[4]!.changes, { topic: '분기 계획', purpose: 'Q3 planning' });
    const view = await b.call<ChannelView>('channel.get', { channelId: side.id });
    assert.equal(view.name, 'side-project-q3');
    assert.equal(view.archived, true);
    assert.equal(view.memberCount, 2);
  });

  it('typing and presence are delivered, never stored', async () => {
    const before = await a.call<ChannelView>('channel.get', { channelId: channel.id });
    await b.call('typing', { channelId: channel.id });
    await a.waitFor((f) => f.t === 'signal' && f.s.kind === 'typing' && f.s.userId === bob.user.id);
    assert.equal((await a.call<ChannelView>('channel.get', { channelId: channel.id })).lastSeq, before.lastSeq);
    const presence = await a.call<{ presence: Record<string, string> }>('presence.get', { userIds: [bob.user.id, carol.user.id] });
    assert.deepEqual(presence.presence, { [bob.user.id]: 'online', [carol.user.id]: 'offline' });
    await b.call('presence.set', { status: 'away' });
    await a.waitFor((f) => f.t === 'signal' && f.s.kind === 'presence' && f.s.userId === bob.user.id && f.s.status === 'away');
  });
});
