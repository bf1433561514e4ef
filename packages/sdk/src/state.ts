import type { ChannelEvent, ChannelView, Message, Signal, User } from '@sotong/protocol';
import type { ConnectionStatus } from './connection.js';
import type { OutboxEntry } from './outbox.js';

/**
 * What a UI renders from. Every change produces a new object, and unchanged parts keep their
 * identity, so `useSyncExternalStore`-style subscribers can compare by reference.
 */
export interface ClientState {
  readonly status: ConnectionStatus;
  readonly user: User | null;
  readonly channels: ReadonlyMap<string, ChannelView>;
  readonly outbox: readonly OutboxEntry[];
}

export interface ReadState {
  lastReadSeq: number;
  unreadCount: number;
  mentionCount: number;
}

export class LocalState {
  private current: ClientState = { status: { state: 'idle' }, user: null, channels: new Map(), outbox: [] };

  constructor(private readonly changed: (state: ClientState) => void) {}

  get(): ClientState {
    return this.current;
  }

  setStatus(status: ConnectionStatus): void {
    this.update({ status });
  }

  setUser(user: User): void {
    this.update({ user });
  }

  setOutbox(outbox: readonly OutboxEntry[]): void {
    this.update({ outbox });
  }

  /** The server's full channel list: channels missing from it are gone. */
  replaceChannels(views: readonly ChannelView[]): void {
    const channels = new Map<string, ChannelView>();
    for (const view of views) channels.set(view.id, newerView(this.current.channels.get(view.id), view));
    this.update({ channels });
  }

  upsertChannel(view: ChannelView): void {
    this.setChannel(newerView(this.current.channels.get(view.id), view));
  }

  removeChannel(channelId: string): void {
    if (!this.current.channels.has(channelId)) return;
    const channels = new Map(this.current.channels);
    channels.delete(channelId);
    this.update({ channels });
  }

  applyEvent(event: ChannelEvent): void {
    if (event.type === 'channel.deleted') return this.removeChannel(event.channelId);
    const view = this.current.channels.get(event.channelId);
    if (view) this.setChannel(applyEventToView(view, event, this.current.user?.id));
  }

  applySignal(signal: Signal): void {
    if (signal.kind === 'unread') {
      const { lastReadSeq, unreadCount, mentionCount } = signal;
      this.applyReadState(signal.channelId, { lastReadSeq, unreadCount, mentionCount });
    } else if (signal.kind === 'read' && signal.userId === this.current.user?.id) {
      const view = this.current.channels.get(signal.channelId);
      if (view && signal.seq > view.lastReadSeq) {
        const readAll = signal.seq >= view.lastSeq;
        this.setChannel({ ...view, lastReadSeq: signal.seq, ...(readAll ? { unreadCount: 0, mentionCount: 0 } : {}) });
      }
    }
  }

  applyReadState(channelId: string, read: ReadState): void {
    const view = this.current.channels.get(channelId);
    if (view) this.setChannel({ ...view, ...read });
  }

  private setChannel(view: ChannelView): void {
    if (this.current.channels.get(view.id) === view) return;
    this.update({ channels: new Map(this.current.channels).set(view.id, view) });
  }

  private update(changes: Partial<ClientState>): void {
    this.current = { ...this.current, ...changes };
    this.changed(this.current);
  }
}

/** A view the server built before events we already applied must not roll them back. */
function newerView(local: ChannelView | undefined, incoming: ChannelView): ChannelView {
  return local && local.lastSeq > incoming.lastSeq ? local : incoming;
}

/** Events at or below the view's lastSeq are already part of it. */
export function applyEventToView(view: ChannelView, event: ChannelEvent, me: string | undefined): ChannelView {
  if (event.seq <= view.lastSeq) return view;
  const next: ChannelView = { ...view, lastSeq: event.seq };
  switch (event.type) {
    case 'channel.created':
      return { ...next, ...event.channel, lastSeq: event.seq };
    case 'channel.updated': {
      const { name, topic, purpose } = event.changes;
      return { ...next, ...(name === undefined ? {} : { name }), ...(topic === undefined ? {} : { topic }), ...(purpose === undefined ? {} : { purpose }) };
    }
    case 'channel.archived':
      return { ...next, archived: true };
    case 'member.joined':
      return { ...next, memberCount: next.memberCount + 1 };
    case 'member.left':
      return { ...next, memberCount: Math.max(0, next.memberCount - 1) };
    case 'message.posted':
      return countMessage(next, event.message, me);
    default:
      return next;
  }
}

/**
 * The server's rules: unread counts root messages from others after the read position; mentions
 * count messages from others naming me or the channel, thread replies included. Posting a root
 * message moves my own read position to it.
 */
function countMessage(view: ChannelView, message: Message, me: string | undefined): ChannelView {
  if (message.senderId === me) {
    if (message.threadRootId !== null || message.seq <= view.lastReadSeq) return view;
    return { ...view, lastReadSeq: message.seq, unreadCount: 0, mentionCount: 0 };
  }
  if (message.seq <= view.lastReadSeq) return view;
  const mentioned = message.mentionsChannel || (me !== undefined && message.mentions.includes(me));
  return {
    ...view,
    unreadCount: view.unreadCount + (message.threadRootId === null ? 1 : 0),
    mentionCount: view.mentionCount + (mentioned ? 1 : 0),
  };
}
