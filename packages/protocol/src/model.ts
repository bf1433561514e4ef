import { z } from 'zod';

export const Id = z.string().min(1).max(64);
export const Seq = z.number().int().nonnegative();

export const WorkspaceRole = z.enum(['owner', 'admin', 'member', 'guest']);
export type WorkspaceRole = z.infer<typeof WorkspaceRole>;

export const ChannelKind = z.enum(['public', 'private', 'dm', 'group_dm']);
export type ChannelKind = z.infer<typeof ChannelKind>;

export const PresenceStatus = z.enum(['online', 'away', 'offline']);
export type PresenceStatus = z.infer<typeof PresenceStatus>;

export const User = z.object({
  id: Id,
  workspaceId: Id,
  email: z.string(),
  displayName: z.string(),
  role: WorkspaceRole,
  deactivated: z.boolean(),
});
export type User = z.infer<typeof User>;

export const Channel = z.object({
  id: Id,
  workspaceId: Id,
  kind: ChannelKind,
  name: z.string(),
  topic: z.string(),
  purpose: z.string(),
  createdBy: Id,
  createdAt: z.number(),
  archived: z.boolean(),
  lastSeq: Seq,
  memberCount: z.number().int(),
});
export type Channel = z.infer<typeof Channel>;

/** A channel as one member sees it: the channel plus that member's read state. */
export const ChannelView = Channel.extend({
  lastReadSeq: Seq,
  unreadCount: z.number().int(),
  mentionCount: z.number().int(),
  /** For DMs and group DMs: the other members. */
  memberIds: z.array(Id).optional(),
});
export type ChannelView = z.infer<typeof ChannelView>;

export const Reaction = z.object({ emoji: z.string(), userIds: z.array(Id) });
export type Reaction = z.infer<typeof Reaction>;

/** A file as messages carry it; the bytes are at `/api/v1/files/{id}` (and `/preview`). */
export const FileInfo = z.object({
  id: Id,
  name: z.string(),
  /** Detected from the bytes, never taken from the name. */
  mime: z.string(),
  size: z.number().int().nonnegative(),
  createdAt: z.number(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  durationMs: z.number().int().optional(),
  /** A preview image exists (made in the background after upload). */
  hasPreview: z.boolean(),
});
export type FileInfo = z.infer<typeof FileInfo>;

export const Message = z.object({
  id: Id,
  channelId: Id,
  seq: Seq,
  senderId: Id,
  clientMsgId: z.string(),
  threadRootId: Id.nullable(),
  format: z.string(),
  text: z.string(),
  createdAt: z.number(),
  editedAt: z.number().nullable(),
  deleted: z.boolean(),
  pinned: z.boolean(),
  replyCount: z.number().int(),
  lastReplyAt: z.number().nullable(),
  mentions: z.array(Id),
  mentionsChannel: z.boolean(),
  reactions: z.array(Reaction),
  /** Files attached when it was sent; absent when there are none. */
  files: z.array(FileInfo).optional(),
  /** How many channel members have not read this message yet. */
  unreadCount: z.number().int().optional(),
});
export type Message = z.infer<typeof Message>;

export const MessageEdit = z.object({ editedAt: z.number(), text: z.string() });
export type MessageEdit = z.infer<typeof MessageEdit>;

export const ChannelMember = z.object({
  userId: Id,
  role: z.enum(['owner', 'member']),
  joinedAt: z.number(),
  lastReadSeq: Seq,
});
export type ChannelMember = z.infer<typeof ChannelMember>;

export const SearchHit = z.object({
  message: Message,
  channelName: z.string(),
  /** A window of the message text around the first match. */
  snippet: z.string(),
  /** [start, end) character ranges inside `snippet` to highlight. */
  highlights: z.array(z.tuple([z.number().int(), z.number().int()])),
});
export type SearchHit = z.infer<typeof SearchHit>;
