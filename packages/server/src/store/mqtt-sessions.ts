import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** An MQTT session kept between connections (transports/mqtt/sessions.ts says what `state` holds). */
export interface KeptMqttSessionRow {
  state: string;
  expires_at: number;
}

export class MqttSessionStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The session kept for this user and client id, removed as it is handed out (a session has one connection). */
  async take(userId: string, clientId: string, now: number): Promise<KeptMqttSessionRow | undefined> {
    const row = await this.db
      .deleteFrom('mqtt_sessions')
      .where('user_id', '=', userId)
      .where('client_id', '=', clientId)
      .returning(['state', 'expires_at'])
      .executeTakeFirst();
    return row && Number(row.expires_at) > now ? { state: row.state, expires_at: Number(row.expires_at) } : undefined;
  }

  async keep(userId: string, clientId: string, state: string, expiresAt: number): Promise<void> {
    await this.db
      .insertInto('mqtt_sessions')
      .values({ user_id: userId, client_id: clientId, state, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['user_id', 'client_id']).doUpdateSet({ state, expires_at: expiresAt }))
      .execute();
  }

  async dropExpired(now: number): Promise<number> {
    const result = await this.db.deleteFrom('mqtt_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
