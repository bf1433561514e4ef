import { z } from 'zod';
import { Channel, Id, Message, PresenceStatus, Seq } from './model.js';
import { NotificationPrefs } from './prefs.js';

const base = { channelId: Id, seq: Seq, actorId: Id, at: z.number() };

/**
 * Everything that changes a channel is one of these, numbered by the channel's `seq`.
 * Message payloads are read from the store when the event is delivered, so a deleted
 * message's old events carry the tombstone, never the removed content.
 */
export const ChannelEvent = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('channel.created'), channel: Channel }),
  z.object({
    ...base,
    type: z.literal('channel.updated'),
    changes: z.object({ name: z.string().optional(), topic: z.string().optional(), purpose: z.string().optional() }),
  }),
  z.object({ ...base, type: z.literal('channel.archived') }),
  /** The last event of a channel: its messages and files are gone and every member has left. */
  z.object({ ...base, type: z.literal('channel.deleted') }),
  z.object({ ...base, type: z.literal('member.joined'), userId: Id }),
  z.object({ ...base, type: z.literal('member.left'), userId: Id }),
  z.object({ ...base, type: z.literal('message.posted'), message: Message }),
  z.object({ ...base, type: z.literal('message.edited'), message: Message }),
  z.object({ ...base, type: z.literal('message.deleted'), messageId: Id, threadRootId: Id.nullable() }),
  z.object({ ...base, type: z.literal('reaction.added'), messageId: Id, emoji: z.string(), userId: Id }),
  z.object({ ...base, type: z.literal('reaction.removed'), messageId: Id, emoji: z.string(), userId: Id }),
  z.object({ ...base, type: z.literal('message.pinned'), messageId: Id }),
  z.object({ ...base, type: z.literal('message.unpinned'), messageId: Id }),
]);
export type ChannelEvent = z.infer<typeof ChannelEvent>;
export type ChannelEventType = ChannelEvent['type'];

/** Ephemeral signals: never stored, never numbered, lost without harm. */
export const Signal = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('typing'), channelId: Id, userId: Id, threadRootId: Id.nullable() }),
  z.object({ kind: z.literal('presence'), userId: Id, status: PresenceStatus }),
  /** A member's read position moved from `fromSeq` to `seq`: messages in (fromSeq, seq] have one reader fewer. */
  z.object({ kind: z.literal('read'), channelId: Id, userId: Id, fromSeq: Seq, seq: Seq }),
  /** Sent to the reader's own sessions so every device shows the same badges. */
  z.object({
    kind: z.literal('unread'),
    channelId: Id,
    lastReadSeq: Seq,
    unreadCount: z.number().int(),
    mentionCount: z.number().int(),
  }),
  /** Sent to the person's own sessions when their notification preferences change, so every device follows at once. */
  z.object({ kind: z.literal('prefs'), prefs: NotificationPrefs }),
]);
export type Signal = z.infer<typeof Signal>;
