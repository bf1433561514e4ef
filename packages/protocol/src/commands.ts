import { z } from 'zod';
import { AuditEvent, PermissionMatrix } from './admin.js';
import { Device } from './devices.js';
import { ChannelEvent } from './events.js';
import {
  Channel,
  ChannelMember,
  ChannelView,
  Id,
  Message,
  MessageEdit,
  PresenceStatus,
  SearchHit,
  Seq,
  User,
  WorkspaceRole,
} from './model.js';
import { Department, Person, Profile } from './org.js';
import { DesktopNotify, NotificationPrefs } from './prefs.js';

const channelName = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .regex(/^[^\s#@,]+$/u, 'a channel name has no spaces, #, @ or commas');
const text = z.string();
/** Query-string friendly integers: REST sends them as text, the socket as numbers. */
const int = z.coerce.number<number | string>().int();
const limit = (max: number, fallback: number) => int.min(1).max(max).default(fallback);
const empty = z.object({});

/**
 * Every operation a client can ask for, on every transport.
 * The REST routes and the socket dispatch both read this table; one schema validates both.
 */
export const commands = {
  'me.get': { args: empty, result: User },
  'users.list': { args: z.object({ limit: limit(1000, 500) }), result: z.object({ users: z.array(User) }) },

  'channels.list': { args: empty, result: z.object({ channels: z.array(ChannelView) }) },
  'channels.browse': { args: empty, result: z.object({ channels: z.array(Channel) }) },
  'channel.get': { args: z.object({ channelId: Id }), result: ChannelView },
  'channel.create': {
    args: z.object({
      name: channelName,
      kind: z.enum(['public', 'private']).default('public'),
      topic: z.string().max(250).default(''),
      purpose: z.string().max(250).default(''),
      memberIds: z.array(Id).max(1000).default([]),
      workspaceId: Id.optional(),
    }),
    result: ChannelView,
  },
  'dm.open': {
    args: z.object({ userIds: z.array(Id).min(1).max(8) }),
    result: ChannelView,
  },
  'channel.update': {
    args: z.object({ channelId: Id, name: channelName.optional(), topic: z.string().max(250).optional(), purpose: z.string().max(250).optional() }),
    result: Channel,
  },
  'channel.archive': { args: z.object({ channelId: Id }), result: empty },
  'channel.delete': { args: z.object({ channelId: Id }), result: empty },
  'channel.join': { args: z.object({ channelId: Id }), result: ChannelView },
  'channel.leave': { args: z.object({ channelId: Id }), result: empty },
  'channel.invite': { args: z.object({ channelId: Id, userIds: z.array(Id).min(1).max(1000) }), result: empty },
  'channel.kick': { args: z.object({ channelId: Id, userId: Id }), result: empty },
  'channel.members': { args: z.object({ channelId: Id }), result: z.object({ members: z.array(ChannelMember) }) },
  'channel.markRead': {
    args: z.object({ channelId: Id, seq: int.nonnegative() }),
    result: z.object({ lastReadSeq: Seq, unreadCount: z.number().int(), mentionCount: z.number().int() }),
  },

  'message.send': {
    args: z.object({
      channelId: Id,
      clientMsgId: z.string().min(1).max(64),
      /** May be empty when files are attached. */
      text,
      threadRootId: Id.optional(),
      /** Files uploaded (POST /api/v1/files) by the sender to this channel and not yet sent. */
      fileIds: z.array(Id).max(20).default([]),
    }),
    result: Message,
  },
  'message.edit': { args: z.object({ messageId: Id, text }), result: Message },
  'message.delete': { args: z.object({ messageId: Id }), result: empty },
  'message.history': { args: z.object({ messageId: Id }), result: z.object({ edits: z.array(MessageEdit) }) },
  'reaction.toggle': {
    args: z.object({ messageId: Id, emoji: z.string().min(1).max(64) }),
    result: z.object({ added: z.boolean() }),
  },
  'message.pin': { args: z.object({ messageId: Id }), result: empty },
  'message.unpin': { args: z.object({ messageId: Id }), result: empty },
  'pins.list': { args: z.object({ channelId: Id }), result: z.object({ messages: z.array(Message) }) },

  'messages.list': {
    args: z.object({
      channelId: Id,
      before: int.nonnegative().optional(),
      after: int.nonnegative().optional(),
      around: Id.optional(),
      limit: limit(200, 50),
    }),
    result: z.object({ messages: z.array(Message), hasMoreBefore: z.boolean(), hasMoreAfter: z.boolean() }),
  },
  'thread.get': {
    args: z.object({ messageId: Id, after: int.nonnegative().optional(), limit: limit(500, 200) }),
    result: z.object({ root: Message, replies: z.array(Message), hasMore: z.boolean() }),
  },
  'events.sync': {
    args: z.object({ channelId: Id, after: int.nonnegative(), limit: limit(1000, 500) }),
    result: z.object({ events: z.array(ChannelEvent), hasMore: z.boolean(), lastSeq: Seq }),
  },
  search: {
    args: z.object({
      query: z.string().min(1).max(500),
      channelId: Id.optional(),
      fromUserId: Id.optional(),
      before: z.string().optional(),
      after: z.string().optional(),
      has: z.enum(['file', 'link']).optional(),
      limit: limit(100, 20),
      /** Continue below this message seq-time cursor from a previous page. */
      cursor: z.string().optional(),
    }),
    result: z.object({ hits: z.array(SearchHit), nextCursor: z.string().nullable() }),
  },

  'org.departments': { args: empty, result: z.object({ departments: z.array(Department) }) },
  'org.department': {
    args: z.object({ departmentId: Id, limit: limit(1000, 500) }),
    result: z.object({ department: Department, path: z.array(z.object({ id: Id, name: z.string() })), members: z.array(Person) }),
  },
  'org.person': { args: z.object({ userId: Id }), result: Profile },
  'org.search': { args: z.object({ query: z.string().trim().min(1).max(100), limit: limit(200, 50) }), result: z.object({ people: z.array(Person) }) },

  'prefs.notifications.get': { args: empty, result: NotificationPrefs },
  'prefs.notifications.set': { args: z.object({ desktop: DesktopNotify }), result: NotificationPrefs },
  'channel.mute': { args: z.object({ channelId: Id, muted: z.boolean() }), result: NotificationPrefs },

  typing: { args: z.object({ channelId: Id, threadRootId: Id.optional() }), result: empty },
  'presence.set': { args: z.object({ status: PresenceStatus.exclude(['offline']) }), result: empty },
  'presence.get': {
    args: z.object({ userIds: z.array(Id).max(1000) }),
    result: z.object({ presence: z.record(z.string(), PresenceStatus) }),
  },

  'admin.permissions': { args: empty, result: PermissionMatrix },
  'admin.user.role': { args: z.object({ userId: Id, role: WorkspaceRole.exclude(['owner']) }), result: User },
  'admin.user.deactivate': { args: z.object({ userId: Id }), result: empty },
  'admin.audit': {
    args: z.object({ limit: limit(500, 100), before: int.optional() }),
    result: z.object({ events: z.array(AuditEvent) }),
  },
  'admin.user.devices': { args: z.object({ userId: Id }), result: z.object({ devices: z.array(Device) }) },
  'admin.user.devices.revoke': { args: z.object({ userId: Id }), result: z.object({ revoked: z.number().int() }) },
  'admin.policy.devices': { args: empty, result: z.object({ approvalRequired: z.boolean() }) },
  'admin.policy.devices.set': { args: z.object({ approvalRequired: z.boolean() }), result: z.object({ approvalRequired: z.boolean() }) },
} as const;

export type Commands = typeof commands;
export type CommandName = keyof Commands;
export const COMMAND_NAMES = Object.keys(commands) as CommandName[];
export type CommandArgs<N extends CommandName> = z.input<Commands[N]['args']>;
export type ParsedArgs<N extends CommandName> = z.output<Commands[N]['args']>;
export type CommandResult<N extends CommandName> = z.output<Commands[N]['result']>;

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(commands, name);
}
