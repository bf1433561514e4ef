import type { AuditEvent, Channel, ChannelEvent, ChannelView, FileInfo, Message, Reaction, User, WorkspaceRole } from '@sotong/protocol';
import type { MemberChannelRow } from '../store/channels.js';
import type { AuditRow, ChannelRow, EventRow, MessageRow, UserRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { decodeText } from './content.js';
import { fileView } from './files.js';

/** Store rows → wire models. */

export function userView(row: UserRow, workspaceId: string, role: string): User {
  return {
    id: row.id,
    workspaceId,
    email: row.email,
    displayName: row.display_name,
    role: role as WorkspaceRole,
    deactivated: row.deactivated_at !== null,
  };
}

export function channelView(row: ChannelRow): Channel {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    kind: row.kind as Channel['kind'],
    name: row.name,
    topic: row.topic,
    purpose: row.purpose,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    archived: row.archived_at !== null,
    lastSeq: Number(row.last_seq),
    memberCount: Number(row.member_count),
  };
}

export function memberChannelView(row: MemberChannelRow, memberIds?: string[]): ChannelView {
  const view: ChannelView = {
    ...channelView(row),
    lastReadSeq: row.last_read_seq,
    unreadCount: row.unread_count,
    mentionCount: row.mention_count,
  };
  if (memberIds) view.memberIds = memberIds;
  return view;
}

/**
 * Read positions of a channel's members, for per-message unread counts:
 * how many members have not yet read up to a message's seq.
 */
export class ReadPositions {
  private readonly sorted: number[];
  constructor(private readonly byUser: Map<string, number>) {
    this.sorted = [...byUser.values()].sort((a, b) => a - b);
  }

  static async of(store: Store, channelId: string): Promise<ReadPositions> {
    const members = await store.channels.members(channelId);
    return new ReadPositions(new Map(members.map((m) => [m.user_id, Number(m.last_read_seq)])));
  }

  unreadCount(seq: number, senderId: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    const senderBehind = (this.byUser.get(senderId) ?? seq) < seq ? 1 : 0;
    return lo - senderBehind;
  }
}

/** Messages with their reactions, mentions and files, in the order given. */
export async function hydrateMessages(store: Store, rows: MessageRow[], reads?: ReadPositions): Promise<Message[]> {
  const ids = rows.map((r) => r.id);
  const withFiles = rows.filter((r) => r.has_file === 1).map((r) => r.id);
  const [reactionRows, mentionRows, fileRows] = await Promise.all([
    store.messages.reactionsOf(ids),
    store.messages.mentionsOf(ids),
    store.files.ofMessages(withFiles),
  ]);
  const reactions = new Map<string, Reaction[]>();
  for (const r of reactionRows) {
    const list = reactions.get(r.message_id) ?? [];
    const entry = list.find((e) => e.emoji === r.emoji);
    if (entry) entry.userIds.push(r.user_id);
    else list.push({ emoji: r.emoji, userIds: [r.user_id] });
    reactions.set(r.message_id, list);
  }
  const mentions = new Map<string, string[]>();
  for (const m of mentionRows) mentions.set(m.message_id, [...(mentions.get(m.message_id) ?? []), m.user_id]);
  const files = new Map<string, FileInfo[]>();
  for (const f of fileRows) files.set(f.message_id!, [...(files.get(f.message_id!) ?? []), fileView(f)]);
  return rows.map((row) => {
    const message = messageView(row, reactions.get(row.id) ?? [], mentions.get(row.id) ?? [], files.get(row.id) ?? []);
    if (reads) message.unreadCount = row.deleted_at === null ? reads.unreadCount(message.seq, row.sender_id) : 0;
    return message;
  });
}

export function messageView(row: MessageRow, reactions: Reaction[], mentions: string[], files: FileInfo[] = []): Message {
  const message: Message = {
    id: row.id,
    channelId: row.channel_id,
    seq: Number(row.seq),
    senderId: row.sender_id,
    clientMsgId: row.client_msg_id,
    threadRootId: row.thread_root_id,
    format: row.content_format,
    text: decodeText(row.content_format, row.content),
    createdAt: Number(row.created_at),
    editedAt: row.edited_at === null ? null : Number(row.edited_at),
    deleted: row.deleted_at !== null,
    pinned: row.pinned_at !== null,
    replyCount: Number(row.reply_count),
    lastReplyAt: row.last_reply_at === null ? null : Number(row.last_reply_at),
    mentions,
    mentionsChannel: row.mentions_channel === 1,
    reactions,
  };
  if (files.length > 0) message.files = files;
  return message;
}

/** An event as stored: the base fields, the non-content payload, and a reference to its message. */
export function eventRow(event: ChannelEvent): EventRow {
  const { channelId, seq, type, actorId, at, ...rest } = event;
  const payload: Record<string, unknown> = { ...rest };
  let messageId: string | null = null;
  if ('message' in rest) {
    messageId = rest.message.id;
    delete payload.message;
  } else if ('messageId' in rest) {
    messageId = rest.messageId;
  }
  return { channel_id: channelId, seq, type, actor_id: actorId, created_at: at, message_id: messageId, payload: JSON.stringify(payload) };
}

/** Stored events → wire events, message events carrying the message as it is now. */
export async function hydrateEvents(store: Store, rows: EventRow[]): Promise<ChannelEvent[]> {
  const messageIds = [...new Set(rows.filter((r) => r.type === 'message.posted' || r.type === 'message.edited').map((r) => r.message_id!))];
  const messages = new Map((await hydrateMessages(store, await store.messages.byIds(messageIds))).map((m) => [m.id, m]));
  return rows.map((row) => {
    const event = {
      channelId: row.channel_id,
      seq: Number(row.seq),
      type: row.type,
      actorId: row.actor_id,
      at: Number(row.created_at),
      ...(JSON.parse(row.payload) as object),
    } as Record<string, unknown>;
    if (row.message_id && messages.has(row.message_id)) event.message = messages.get(row.message_id);
    return event as ChannelEvent;
  });
}

export function auditView(row: AuditRow): AuditEvent {
  return {
    id: Number(row.id),
    at: Number(row.at),
    action: row.action,
    actorId: row.actor_id,
    target: row.target,
    address: row.address,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}
