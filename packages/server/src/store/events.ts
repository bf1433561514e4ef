import type { Kysely } from 'kysely';
import type { CompiledQueries } from './compiled.js';
import type { Database, EventRow } from './schema.js';

export class EventStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly compiled: CompiledQueries,
  ) {}

  async append(event: EventRow): Promise<void> {
    await this.compiled.run(this.db, 'events.append', (p) => this.db.insertInto('events').values(p), event);
  }

  /** The channel's log after `afterSeq`, in order. */
  async after(channelId: string, afterSeq: number, limit: number): Promise<EventRow[]> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where('channel_id', '=', channelId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, seq: Number(r.seq), created_at: Number(r.created_at) }));
  }
}
