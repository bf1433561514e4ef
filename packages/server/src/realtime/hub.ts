import { CLOSE_CODES, type ChannelEvent, type PresenceStatus, type ServerFrame } from '@sotong/protocol';
import type { Bus, BusMessage, Topic } from '../bus/bus.js';
import type { Metrics } from '../metrics.js';

/** What the hub needs of a connected session. */
export interface HubSession {
  readonly id: string;
  readonly userId: string;
  /** The device whose key proved this connection. */
  readonly deviceId: string;
  readonly channels: Set<string>;
  readonly watching: Set<string>;
  /** A sequenced frame: held back while the session is catching up, so nothing overtakes its backlog. */
  deliver(channelId: string, seq: number, frame: Buffer): void;
  push(frame: Buffer): void;
  close(code: number, reason: string): void;
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
    private readonly bus: Bus,
    private readonly metrics: Metrics,
  ) {
    this.unsubscribeBus = bus.subscribe((message) => this.onBus(message));
  }

  /** Routes user-level traffic (membership changes, signals) to the session from now on. */
  addSession(session: HubSession): void {
    this.add(this.byUser, 'user', session.userId, session);
  }

  subscribe(session: HubSession, channelId: string): void {
    if (session.channels.has(channelId)) return;
    session.channels.add(channelId);
    this.add(this.byChannel, 'channel', channelId, session);
  }

  unsubscribe(session: HubSession, channelId: string): void {
    if (!session.channels.delete(channelId)) return;
    this.remove(this.byChannel, 'channel', channelId, session);
  }

  /** Returns the users this node had not been watching before. */
  watchPresence(session: HubSession, userIds: readonly string[]): string[] {
    const fresh: string[] = [];
    for (const userId of userIds) {
      if (session.watching.has(userId)) continue;
      session.watching.add(userId);
      if (!this.presenceWatchers.has(userId)) fresh.push(userId);
      this.add(this.presenceWatchers, 'presence', userId, session);
    }
    return fresh;
  }

  removeSession(session: HubSession): void {
    for (const channelId of session.channels) this.remove(this.byChannel, 'channel', channelId, session);
    for (const userId of session.watching) this.remove(this.presenceWatchers, 'presence', userId, session);
    this.remove(this.byUser, 'user', session.userId, session);
    session.channels.clear();
    session.watching.clear();
  }

  /** A user's status changed: tell the sessions that asked about them. */
  pushPresence(userId: string, status: PresenceStatus): void {
    this.pushAll(this.presenceWatchers.get(userId), encodeFrame({ t: 'signal', s: { kind: 'presence', userId, status } }));
  }

  /** Resolves once this node hears everything its sessions subscribed to so far. */
  settled(): Promise<void> {
    return this.bus.settled();
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
      case 'membership':
        return this.onMembership(message);
      case 'user-revoked':
        for (const session of [...(this.byUser.get(message.userId) ?? [])]) session.close(CLOSE_CODES.revoked, message.reason);
        return;
      case 'device-revoked':
        for (const session of [...(this.byUser.get(message.userId) ?? [])]) {
          if (session.deviceId === message.deviceId) session.close(CLOSE_CODES.revoked, 'device_revoked');
        }
        return;
      case 'presence':
      case 'presence-query':
        return; // the presence tracker's business; it reports changes through pushPresence

    }
  }

  private onEvent(event: ChannelEvent): void {
    this.metrics.events.inc({ type: event.type });
    const subscribers = this.byChannel.get(event.channelId);
    if (subscribers && subscribers.size > 0) {
      const frame = encodeFrame({ t: 'event', e: event });
      for (const session of subscribers) session.deliver(event.channelId, event.seq, frame);
      this.metrics.deliveries.inc(subscribers.size);
    }
    if (event.type === 'message.posted') this.metrics.sendToDeliverSeconds.observe((Date.now() - event.at) / 1000);
  }

  /** The services publish a join before its event and a leave after it, so the member sees both. */
  private onMembership(change: Extract<BusMessage, { kind: 'membership' }>): void {
    for (const session of this.byUser.get(change.userId) ?? []) {
      if (change.joined && !session.channels.has(change.channelId)) {
        this.subscribe(session, change.channelId);
        session.push(encodeFrame({ t: 'subscribed', channelId: change.channelId, lastSeq: change.seq - 1 }));
      } else if (!change.joined && session.channels.has(change.channelId)) {
        this.unsubscribe(session, change.channelId);
        session.push(encodeFrame({ t: 'unsubscribed', channelId: change.channelId }));
      }
    }
  }

  private pushAll(sessions: Set<HubSession> | undefined, frame: Buffer): void {
    if (!sessions) return;
    for (const session of sessions) session.push(frame);
    this.metrics.deliveries.inc(sessions.size);
  }

  /** The first local session to need a topic makes this node watch it on the bus. */
  private add(map: Map<string, Set<HubSession>>, kind: Topic['kind'], id: string, session: HubSession): void {
    let set = map.get(id);
    if (!set) {
      map.set(id, (set = new Set()));
      this.bus.watch({ kind, id });
    }
    set.add(session);
  }

  /** The last one to leave releases it. */
  private remove(map: Map<string, Set<HubSession>>, kind: Topic['kind'], id: string, session: HubSession): void {
    const set = map.get(id);
    if (!set?.delete(session) || set.size > 0) return;
    map.delete(id);
    this.bus.unwatch({ kind, id });
  }
}
