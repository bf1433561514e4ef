import type { PresenceStatus } from '@sotong/protocol';
import type { Bus } from '../bus/bus.js';
import type { PresencePort } from '../services/context.js';

/** Online while any session is connected; away when the user says so. Changes go out on the bus. */
export class PresenceTracker implements PresencePort {
  private readonly sessions = new Map<string, number>();
  private readonly away = new Set<string>();

  constructor(private readonly bus: Bus) {}

  connected(userId: string): void {
    const before = this.status(userId);
    this.sessions.set(userId, (this.sessions.get(userId) ?? 0) + 1);
    this.announce(userId, before);
  }

  disconnected(userId: string): void {
    const before = this.status(userId);
    const left = (this.sessions.get(userId) ?? 1) - 1;
    if (left > 0) this.sessions.set(userId, left);
    else this.sessions.delete(userId);
    this.announce(userId, before);
  }

  setAway(userId: string, away: boolean): void {
    const before = this.status(userId);
    if (away) this.away.add(userId);
    else this.away.delete(userId);
    this.announce(userId, before);
  }

  isOnline(userId: string): boolean {
    return this.status(userId) === 'online';
  }

  statusOf(userIds: readonly string[]): Record<string, PresenceStatus> {
    return Object.fromEntries(userIds.map((id) => [id, this.status(id)]));
  }

  private status(userId: string): PresenceStatus {
    if (!this.sessions.has(userId)) return 'offline';
    return this.away.has(userId) ? 'away' : 'online';
  }

  private announce(userId: string, before: PresenceStatus): void {
    const status = this.status(userId);
    if (status !== before) this.bus.publish({ kind: 'presence', userId, status });
  }
}
