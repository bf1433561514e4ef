import type { CommandName } from '@sotong/protocol';

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * The REST face of the command table. Path parameters fill the named arguments; the rest come
 * from the query string (GET, DELETE) or the JSON body (POST, PATCH).
 */
export const COMMAND_ROUTES: ReadonlyArray<readonly [Method, string, CommandName, string]> = [
  ['GET', '/me', 'me.get', 'The signed-in user'],
  ['GET', '/users', 'users.list', 'People in the workspace'],
  ['GET', '/channels', 'channels.list', 'My channels and DMs with unread and mention counts'],
  ['POST', '/channels', 'channel.create', 'Create a public or private channel'],
  ['GET', '/channels/browse', 'channels.browse', 'Public channels one may join'],
  ['GET', '/channels/:channelId', 'channel.get', 'One channel with my read state'],
  ['PATCH', '/channels/:channelId', 'channel.update', 'Rename, or set topic or purpose'],
  ['POST', '/channels/:channelId/archive', 'channel.archive', 'Archive a channel'],
  ['DELETE', '/channels/:channelId', 'channel.delete', 'Delete a channel with its messages and files (owners, admins)'],
  ['POST', '/channels/:channelId/join', 'channel.join', 'Join a public channel'],
  ['POST', '/channels/:channelId/leave', 'channel.leave', 'Leave a channel'],
  ['GET', '/channels/:channelId/members', 'channel.members', 'Members with their read positions'],
  ['POST', '/channels/:channelId/members', 'channel.invite', 'Add people to a channel'],
  ['DELETE', '/channels/:channelId/members/:userId', 'channel.kick', 'Remove someone from a channel'],
  ['POST', '/channels/:channelId/read', 'channel.markRead', 'Mark the channel read up to a seq'],
  ['GET', '/channels/:channelId/messages', 'messages.list', 'History: before or after a seq, or around a message'],
  ['POST', '/channels/:channelId/messages', 'message.send', 'Post a message (idempotent on clientMsgId)'],
  ['GET', '/channels/:channelId/events', 'events.sync', 'The channel event log after a seq'],
  ['GET', '/channels/:channelId/pins', 'pins.list', 'Pinned messages'],
  ['POST', '/channels/:channelId/typing', 'typing', 'Say that I am typing'],
  ['POST', '/dms', 'dm.open', 'Open (or find) a 1:1 or group DM'],
  ['PATCH', '/messages/:messageId', 'message.edit', 'Edit my message'],
  ['DELETE', '/messages/:messageId', 'message.delete', 'Delete a message (leaves a tombstone)'],
  ['GET', '/messages/:messageId/edits', 'message.history', 'Earlier versions of an edited message'],
  ['GET', '/messages/:messageId/thread', 'thread.get', 'A thread: its root and replies'],
  ['POST', '/messages/:messageId/reactions', 'reaction.toggle', 'Add or remove my reaction'],
  ['POST', '/messages/:messageId/pin', 'message.pin', 'Pin a message'],
  ['DELETE', '/messages/:messageId/pin', 'message.unpin', 'Unpin a message'],
  ['GET', '/search', 'search', 'Search messages (Korean-aware; in:, from:, before:, after:, has:)'],
  ['POST', '/presence', 'presence.set', 'Set myself online or away'],
  ['POST', '/presence/query', 'presence.get', 'Presence of some users'],
];
