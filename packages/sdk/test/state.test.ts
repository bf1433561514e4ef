import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChannelEvent } from '@sotong/protocol';
import { LocalState, type ClientState } from '../src/state.js';
import { alice, channelView, posted } from './fixtures.js';

function setup() {
  const changes: ClientState[] = [];
  const state = new LocalState((next) => changes.push(next));
  state.setUser(alice);
  return { state, changes, channel: (id: string) => state.get().channels.get(id) };
}

test('root messages from others count as unread; mentions of me or the channel, replies included, as mentions', () => {
  const { state, channel } = setup();
  state.replaceChannels([channelView('c1', { lastSeq: 2, lastReadSeq: 2 })]);
  state.applyEvent(posted('c1', 3));
  state.applyEvent(posted('c1', 4, { mentions: [alice.id] }));
  state.applyEvent(posted('c1', 5, { mentionsChannel: true, threadRootId: 'm-c1-3' }));
  state.applyEvent(posted('c1', 6, { threadRootId: 'm-c1-3' }));
  assert.deepEqual(
    { lastSeq: channel('c1')?.lastSeq, unread: channel('c1')?.unreadCount, mentions: channel('c1')?.mentionCount },
    { lastSeq: 6, unread: 2, mentions: 2 },
  );
});

test('posting a root message reads the channel up to it; a reply of mine changes nothing', () => {
  const { state, channel } = setup();
  state.replaceChannels([channelView('c1', { lastSeq: 4, lastReadSeq: 1, unreadCount: 3, mentionCount: 1 })]);
  state.applyEvent(posted('c1', 5, { senderId: alice.id, threadRootId: 'm-c1-2' }));
  assert.deepEqual([channel('c1')?.lastReadSeq, channel('c1')?.unreadCount, channel('c1')?.mentionCount], [1, 3, 1]);
  state.applyEvent(posted('c1', 6, { senderId: alice.id }));
  assert.deepEqual([channel('c1')?.lastReadSeq, channel('c1')?.unreadCount, channel('c1')?.mentionCount], [6, 0, 0]);
});

test('events the channel view already includes are not counted again', () => {
  const { state, channel } = setup();
  state.replaceChannels([channelView('c1', { lastSeq: 5, unreadCount: 2 })]);
  state.applyEvent(posted('c1', 4));
  state.applyEvent(posted('c1', 5));
  assert.equal(channel('c1')?.unreadCount, 2);
});

test('a view older than the applied events does not roll them back', () => {
  const { state, channel } = setup();
  state.replaceChannels([channelView('c1', { lastSeq: 1 })]);
  state.applyEvent(posted('c1', 2));
  state.upsertChannel(channelView('c1', { lastSeq: 1, unreadCount: 0 }));
  assert.deepEqual([channel('c1')?.lastSeq, channel('c1')?.unreadCount], [2, 1]);
});

test('channel events update the channel; events of unknown channels are ignored', () => {
  const { state, channel } = setup();
  state.replaceChannels([channelView('c1', { memberCount: 2 })]);
  const base = { channelId: 'c1', actorId: 'u-bob', at: 0 };
  const events: ChannelEvent[] = [
    { ...base, seq: 1, type: 'channel.updated', changes: { topic: 'plans' } },
    { ...base, seq: 2, type: 'member.joined', userId: 'u-carol' },
    { ...base, seq: 3, type: 'member.left', userId: 'u-bob' },
    { ...base, seq: 4, type: 'channel.archived' },
    { ...base, channelId: 'c9', seq: 1, type: 'channel.archived' },
  ];
  for (const event of events) state.applyEvent(event);
  const view = channel('c1');
  assert.deepEqual([view?.topic, view?.name, view?.memberCount, view?.archived, view?.lastSeq], ['plans', 'c1', 2, true, 4]);
  assert.equal(state.get().channels.has('c9'), false);
});

test('unread signals set the badges; my read signal moves the read position', () => {
  const { state, channel } = setup();
  state.replaceChannels([channelView('c1', { lastSeq: 10, unreadCount: 5, mentionCount: 1 })]);
  state.applySignal({ kind: 'unread', channelId: 'c1', lastReadSeq: 8, unreadCount: 2, mentionCount: 0 });
  assert.deepEqual([channel('c1')?.lastReadSeq, channel('c1')?.unreadCount], [8, 2]);
  state.applySignal({ kind: 'read', channelId: 'c1', userId: 'u-bob', fromSeq: 0, seq: 10 });
  assert.equal(channel('c1')?.unreadCount, 2, "someone else's read changes nothing");
  state.applySignal({ kind: 'read', channelId: 'c1', userId: alice.id, fromSeq: 8, seq: 10 });
  assert.deepEqual([channel('c1')?.lastReadSeq, channel('c1')?.unreadCount, channel('c1')?.mentionCount], [10, 0, 0]);
});

test('every change is a new state object; untouched channels keep their identity', () => {
  const { state, changes } = setup();
  state.replaceChannels([channelView('c1'), channelView('c2')]);
  const before = state.get();
  state.applyEvent(posted('c1', 1));
  const after = state.get();
  assert.notEqual(after, before);
  assert.notEqual(after.channels, before.channels);
  assert.notEqual(after.channels.get('c1'), before.channels.get('c1'));
  assert.equal(after.channels.get('c2'), before.channels.get('c2'));
  assert.equal(changes.at(-1), after);
  state.removeChannel('c2');
  assert.deepEqual([...state.get().channels.keys()], ['c1']);
});
