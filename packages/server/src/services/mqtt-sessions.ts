import type { ServiceDeps } from './context.js';

/**
 * What an MQTT session with clean start off keeps between connections: its subscriptions and,
 * per channel, the last seq delivered (QoS 0) or acknowledged (QoS 1). The messages themselves
 * are never kept here — on reconnect the store replays what came after these cursors.
 * Kept in the store until it expires, so the next connection may come to any node, or after a
 * restart; a node that dies without closing its connections keeps nothing of them (the client
 * then starts fresh and syncs, as after an expiry).
 */
export interface KeptSession {
  userId: string;
  clientId: string;
  channels: Map<string, 0 | 1>;
  userStreams: Map<string, 0 | 1>;
  cursors: Map<string, number>;
  expiresAt: number;
}

interface StoredState {
  channels: [string, 0 | 1][];
  userStreams: [string, 0 | 1][];
  cursors: [string, number][];
}

/** The MQTT transport's kept sessions, in the store (the transport itself touches no store). */
export class MqttSessionService {
  constructor(private readonly deps: ServiceDeps) {}

  async take(userId: string, clientId: string, now = Date.now()): Promise<KeptSession | undefined> {
    const row = await this.deps.queue.run(async (tx) => ({ result: await tx.mqttSessions.take(userId, clientId, now) }));
    if (!row) return undefined;
    const state = JSON.parse(row.state) as StoredState;
    return { userId, clientId, channels: new Map(state.channels), userStreams: new Map(state.userStreams), cursors: new Map(state.cursors), expiresAt: row.expires_at };
  }

  async keep(session: KeptSession): Promise<void> {
    const state: StoredState = { channels: [...session.channels], userStreams: [...session.userStreams], cursors: [...session.cursors] };
    await this.deps.queue.run(async (tx) => ({ result: await tx.mqttSessions.keep(session.userId, session.clientId, JSON.stringify(state), session.expiresAt) }));
  }

  async sweep(now = Date.now()): Promise<number> {
    return this.deps.queue.run(async (tx) => ({ result: await tx.mqttSessions.dropExpired(now) }));
  }
}
