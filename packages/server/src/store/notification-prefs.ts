import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A person's desktop notification level and the channels they muted. */
export class NotificationPrefStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** The saved level, or undefined when the person never chose one. */
  async desktop(userId: string): Promise<string | undefined> {
    return (await this.db.selectFrom('notification_prefs').select('desktop').where('user_id', '=', userId).executeTakeFirst())?.desktop;
  }

  async setDesktop(userId: string, desktop: string, at: number): Promise<void> {
    await this.db
      .insertInto('notification_prefs')
      .values({ user_id: userId, desktop, updated_at: at })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ desktop, updated_at: at }))
      .execute();
  }

  async mutedChannels(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('channel_mutes').select('channel_id').where('user_id', '=', userId).orderBy('channel_id').execute();
    return rows.map((r) => r.channel_id);
  }

  async setMuted(userId: string, channelId: string, muted: boolean, at: number): Promise<void> {
    if (!muted) {
      await this.db.deleteFrom('channel_mutes').where('user_id', '=', userId).where('channel_id', '=', channelId).execute();
      return;
    }
    await this.db
      .insertInto('channel_mutes')
      .values({ user_id: userId, channel_id: channelId, muted_at: at })
      .onConflict((oc) => oc.columns(['user_id', 'channel_id']).doNothing())
      .execute();
  }
}
