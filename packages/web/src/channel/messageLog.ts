import type { ChannelEvent, Message, Reaction, Signal } from '@sotong/protocol';

/**
 * Pure updates of a loaded list of messages (sorted by seq). `rootId` picks which messages the
 * list holds: null for the channel's root messages, a root's id for that thread (root included).
 * Every update is idempotent, so an event seen twice (a resync overlapping a page) changes nothing.
 */
export type Scope = { rootId: string | null };

const inScope = (message: Message, scope: Scope) =>
  scope.rootId === null ? message.threadRootId === null : message.threadRootId === scope.rootId || message.id === scope.rootId;

export function mergeMessages(list: readonly Message[], incoming: readonly Message[]): Message[] {
  const byId = new Map(list.map((m) => [m.id, m]));
  for (const message of incoming) byId.set(message.id, { ...message, unreadCount: message.unreadCount ?? byId.get(message.id)?.unreadCount });
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

function update(list: readonly Message[], id: string, change: (m: Message) => Message): readonly Message[] {
  const index = list.findIndex((m) => m.id === id);
  if (index < 0) return list;
  const next = [...list];
  next[index] = change(list[index]!);
  return next;
}

function react(reactions: readonly Reaction[], emoji: string, userId: string, added: boolean): Reaction[] {
  const existing = reactions.find((r) => r.emoji === emoji);
  if (added) {
    if (existing?.userIds.includes(userId)) return [...reactions];
    if (existing) return reactions.map((r) => (r === existing ? { ...r, userIds: [...r.userIds, userId] } : r));
    return [...reactions, { emoji, userIds: [userId] }];
  }
  return reactions.map((r) => (r === existing ? { ...r, userIds: r.userIds.filter((u) => u !== userId) } : r)).filter((r) => r.userIds.length > 0);
}

export function applyEvent(list: readonly Message[], event: ChannelEvent, scope: Scope): readonly Message[] {
  switch (event.type) {
    case 'message.posted': {
      const message = event.message;
      if (inScope(message, scope)) return list.some((m) => m.id === message.id) ? list : mergeMessages(list, [message]);
      if (message.threadRootId === null) return list;
      return update(list, message.threadRootId, (root) => ({ ...root, replyCount: root.replyCount + 1, lastReplyAt: message.createdAt }));
    }
    case 'message.edited':
      return update(list, event.message.id, (old) => ({ ...event.message, unreadCount: event.message.unreadCount ?? old.unreadCount }));
    case 'message.deleted': {
      const gone = list.find((m) => m.id === event.messageId);
      const next = gone?.deleted === false ? update(list, event.messageId, (m) => ({ ...m, deleted: true, text: '', files: [], reactions: [] })) : list;
      if (!gone && event.threadRootId && scope.rootId === null) {
        return update(next, event.threadRootId, (root) => ({ ...root, replyCount: Math.max(0, root.replyCount - 1) }));
      }
      return next;
    }
    case 'reaction.added':
    case 'reaction.removed':
      return update(list, event.messageId, (m) => ({ ...m, reactions: react(m.reactions, event.emoji, event.userId, event.type === 'reaction.added') }));
    case 'message.pinned':
    case 'message.unpinned':
      return update(list, event.messageId, (m) => ({ ...m, pinned: event.type === 'message.pinned' }));
    default:
      return list;
  }
}

/** Someone read up to `seq`: each message in (fromSeq, seq] not their own has one reader fewer to wait for. */
export function applyRead(list: readonly Message[], signal: Extract<Signal, { kind: 'read' }>): readonly Message[] {
  let changed = false;
  const next = list.map((m) => {
    if (m.seq <= signal.fromSeq || m.seq > signal.seq || m.senderId === signal.userId || !m.unreadCount) return m;
    changed = true;
    return { ...m, unreadCount: m.unreadCount - 1 };
  });
  return changed ? next : list;
}
