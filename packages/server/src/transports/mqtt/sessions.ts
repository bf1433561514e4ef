/**
 * What an MQTT session with clean start off keeps between connections: its subscriptions and,
 * per channel, the last seq delivered (QoS 0) or acknowledged (QoS 1). The messages themselves
 * are never kept here — on reconnect the store replays what came after these cursors.
 * Held in memory on the node the client last used, until it expires.
 */
export interface KeptSession {
  userId: string;
  clientId: string;
  channels: Map<string, 0 | 1>;
  userStreams: Map<string, 0 | 1>;
  cursors: Map<string, number>;
  expiresAt: number;
}

export class KeptSessions {
  private readonly kept = new Map<string, KeptSession>();

  private static key(userId: string, clientId: string): string {
    return `${userId}\u0000${clientId}`;
  }

  take(userId: string, clientId: string, now = Date.now()): KeptSession | undefined {
    const key = KeptSessions.key(userId, clientId);
    const session = this.kept.get(key);
    this.kept.delete(key);
    return session && session.expiresAt > now ? session : undefined;
  }

  keep(session: KeptSession): void {
    this.kept.set(KeptSessions.key(session.userId, session.clientId), session);
  }

  drop(userId: string, clientId: string): void {
    this.kept.delete(KeptSessions.key(userId, clientId));
  }

  sweep(now = Date.now()): void {
    for (const [key, session] of this.kept) if (session.expiresAt <= now) this.kept.delete(key);
  }
}
