import type { ChannelEvent, ServerFrame } from '@sotong/protocol';
import type { Bus, BusMessage } from '../bus/bus.js';
import type { Metrics } from '../metrics.js';

/** What the hub needs of a connected session. */
export interface HubSession {
  readonly id: string;
  readonly userId: string;
  readonly channels: Set<string>;
  readonly watching: Set<string>;
  /** A sequenced frame: held back while the session is catching up, so nothing overtakes its backlog. */
  deliver(channelId: string, seq: number, frame: Buffer): void;
  push(frame: Buffer): void;
}

export function encodeFrame(frame: ServerFrame): Buffer {
  return Buffer.from(JSON.stringify(frame));
}

/**
 * Sessions, subscriptions and fan-out on this node. Every bus message is encoded once and the
 * same bytes are written to each subscribed session.
 */
export class Hub {
  private readonly byChannel = new Map<string, Set<HubSession>>();
  private readonly byUser = new Map<string, Set<HubSession>>();
  private readonly presenceWatchers = new Map<string, Set<HubSession>>();
  private readonly unsubscribeBus: () => void;

  constructor(
    bus: Bus,
    private readonly metrics: Metrics,
  ) {
    this.unsubscribeBus = bus.subscribe((message) => this.onBus(message));
  }

  /** Routes user-level traffic (membership changes, signals) to the session from now on. */
  addSession(session: HubSession): void {
    addTo(this.byUser, session.userId, session);
  }

  subscribe(session: HubSession, channelId: string): void {
    session.channels.add(channelId);
    addTo(this.byChannel, channelId, session);
  }

  unsubscribe(session: HubSession, channelId: string): void {
    session.channels.delete(channelId);
    removeFrom(this.byChannel, channelId, session);
  }

  watchPresence(session: HubSession, userIds: readonly string[]): void {
    for (const userId of userIds) {
      session.watching.add(userId);
      addTo(this.presenceWatchers, userId, session);
    }
  }

  removeSession(session: HubSession): void {
    for (const channelId of session.channels) removeFrom(this.byChannel, channelId, session);
    for (const userId of session.watching) removeFrom(this.presenceWatchers, userId, session);
    removeFrom(this.byUser, session.userId, session);
    session.channels.clear();
    session.watching.clear();
  }

  sessionCount(): number {
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  close(): void {
    this.unsubscribeBus();
  }

  private onBus(message: BusMessage): void {
    switch (message.kind) {
      case 'event':
        return this.onEvent(message.event);
      case 'channel-signal':
        return this.pushAll(this.byChannel.get(message.channelId), encodeFrame({ t: 'signal', s: message.signal }));
      case 'user-signal':
        return this.pushAll(this.byUser.get(message.userId), encodeFrame({ t: 'signal', s: message.signal }));
      case 'presence':
        return this.pushAll(
          this.presenceWatchers.get(message.userId),
          encodeFrame({ t: 'signal', s: { kind: 'presence', userId: message.userId, status: message.status } }),
        );
    }
  }

  private onEvent(event: ChannelEvent): void {
    this.metrics.events.inc({ type: event.type });
    if (event.type === 'member.joined') {
      for (const session of this.byUser.get(event.userId) ?? []) {
        if (session.channels.has(event.channelId)) continue;
        this.subscribe(session, event.channelId);
        session.push(encodeFrame({ t: 'subscribed', channelId: event.channelId, lastSeq: event.seq - 1 }));
      }
    }
    const subscribers = this.byChannel.get(event.channelId);
    if (subscribers && subscribers.size > 0) {
      const frame = encodeFrame({ t: 'event', e: event });
      for (const session of subscribers) session.deliver(event.channelId, event.seq, frame);
      this.metrics.deliveries.inc(subscribers.size);
    }
    if (event.type === 'message.posted') this.metrics.sendToDeliverSeconds.observe((Date.now() - event.at) / 1000);
    if (event.type === 'member.left') {
      for (const session of this.byUser.get(event.userId) ?? []) {
        if (!session.channels.has(event.channelId)) continue;
        this.unsubscribe(session, event.channelId);
        session.push(encodeFrame({ t: 'unsubscribed', channelId: event.channelId }));
      }
    }
  }

  private pushAll(sessions: Set<HubSession> | undefined, frame: Buffer): void {
    if (!sessions) return;
    for (const session of sessions) session.push(frame);
    this.metrics.deliveries.inc(sessions.size);
  }
}

function addTo<K>(map: Map<K, Set<HubSession>>, key: K, session: HubSession): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(session);
}

function removeFrom<K>(map: Map<K, Set<HubSession>>, key: K, session: HubSession): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(session);
  if (set.size === 0) map.delete(key);
}
