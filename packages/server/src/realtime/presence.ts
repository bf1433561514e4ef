import type { PresenceStatus } from '@sotong/protocol';
import type { Bus, BusMessage } from '../bus/bus.js';
import { newId } from '../ids.js';
import type { PresencePort } from '../services/context.js';

const RANK: Record<PresenceStatus, number> = { offline: 0, away: 1, online: 2 };

/**
 * Presence across nodes. Each node knows its own sessions and announces, per user, the status
 * they give on this node; it keeps what other nodes announce, and a user's status is the best of
 * all. Announcements are repeated every `refreshMs` and forgotten after three missed rounds, so a
 * node that dies stops counting. A node that starts watching someone asks the others to announce.
 */
export class PresenceTracker implements PresencePort {
  readonly node = newId('n');
  private readonly sessions = new Map<string, number>();
  private readonly away = new Set<string>();
  /** userId → node → what that node said, and when. */
  private readonly remote = new Map<string, Map<string, { status: PresenceStatus; at: number }>>();
  private readonly listeners = new Set<(userId: string, status: PresenceStatus) => void>();
  private readonly refresh: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly bus: Bus,
    private readonly refreshMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = bus.subscribe((message) => this.onBus(message));
    this.refresh = setInterval(() => this.refreshAll(), refreshMs);
    this.refresh.unref();
  }

  /** Called with a user's new cluster-wide status whenever it changes. */
  onChange(listener: (userId: string, status: PresenceStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connected(userId: string): void {
    const count = this.sessions.get(userId) ?? 0;
    if (count === 0) this.bus.watch({ kind: 'presence', id: userId });
    this.changeLocal(userId, () => this.sessions.set(userId, count + 1));
  }

  disconnected(userId: string): void {
    const left = (this.sessions.get(userId) ?? 1) - 1;
    this.changeLocal(userId, () => (left > 0 ? this.sessions.set(userId, left) : this.sessions.delete(userId)));
    if (left === 0) this.bus.unwatch({ kind: 'presence', id: userId });
  }

  setAway(userId: string, away: boolean): void {
    this.changeLocal(userId, () => (away ? this.away.add(userId) : this.away.delete(userId)));
  }

  /** This node now shows the user to someone: learn what the other nodes know. */
  query(userId: string): void {
    this.bus.publish({ kind: 'presence-query', userId, node: this.node });
  }

  isOnline(userId: string): boolean {
    return this.status(userId) === 'online';
  }

  statusOf(userIds: readonly string[]): Record<string, PresenceStatus> {
    return Object.fromEntries(userIds.map((id) => [id, this.status(id)]));
  }

  close(): void {
    clearInterval(this.refresh);
    this.unsubscribe();
  }

  private localStatus(userId: string): PresenceStatus {
    if (!this.sessions.has(userId)) return 'offline';
    return this.away.has(userId) ? 'away' : 'online';
  }

  private status(userId: string): PresenceStatus {
    let best = this.localStatus(userId);
    const expiry = this.now() - this.refreshMs * 3;
    for (const { status, at } of this.remote.get(userId)?.values() ?? []) {
      if (at >= expiry && RANK[status] > RANK[best]) best = status;
    }
    return best;
  }

  private changeLocal(userId: string, change: () => void): void {
    const before = this.localStatus(userId);
    const shownBefore = this.status(userId);
    change();
    const after = this.localStatus(userId);
    if (after !== before) this.bus.publish({ kind: 'presence', userId, status: after, node: this.node });
    this.notifyIfChanged(userId, shownBefore);
  }

  private onBus(message: BusMessage): void {
    if (message.kind === 'presence-query') {
      if (message.node !== this.node && this.sessions.has(message.userId)) this.announce(message.userId);
      return;
    }
    if (message.kind !== 'presence' || message.node === this.node) return;
    const shownBefore = this.status(message.userId);
    let nodes = this.remote.get(message.userId);
    if (message.status === 'offline') {
      nodes?.delete(message.node);
      if (nodes?.size === 0) this.remote.delete(message.userId);
    } else {
      if (!nodes) this.remote.set(message.userId, (nodes = new Map()));
      nodes.set(message.node, { status: message.status, at: this.now() });
    }
    this.notifyIfChanged(message.userId, shownBefore);
  }

  private announce(userId: string): void {
    this.bus.publish({ kind: 'presence', userId, status: this.localStatus(userId), node: this.node });
  }

  private refreshAll(): void {
    for (const userId of this.sessions.keys()) this.announce(userId);
    const expiry = this.now() - this.refreshMs * 3;
    for (const [userId, nodes] of this.remote) {
      const shownBefore = this.status(userId);
      for (const [node, seen] of nodes) if (seen.at < expiry) nodes.delete(node);
      if (nodes.size === 0) this.remote.delete(userId);
      this.notifyIfChanged(userId, shownBefore);
    }
  }

  private notifyIfChanged(userId: string, before: PresenceStatus): void {
    const after = this.status(userId);
    if (after === before) return;
    for (const listener of this.listeners) listener(userId, after);
  }
}
