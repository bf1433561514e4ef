import { sql, type Kysely, type Updateable } from 'kysely';
import type { CompiledQueries } from './compiled.js';
import type { ChannelRow, Database, MemberRow } from './schema.js';

export interface MemberChannelRow extends ChannelRow {
  last_read_seq: number;
  unread_count: number;
  mention_count: number;
}

export class ChannelStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly compiled: CompiledQueries,
  ) {}

  async insert(channel: ChannelRow): Promise<void> {
    await this.db.insertInto('channels').values(channel).execute();
  }

  async byId(id: string): Promise<ChannelRow | undefined> {
    const { rows } = await this.compiled.run(this.db, 'channels.byId', (p) => this.db.selectFrom('channels').selectAll().where('id', '=', p.id), { id });
    return rows[0];
  }

  /** The channel and the user's membership in it, in one lookup (every command starts with this). */
  async withMember(channelId: string, userId: string): Promise<{ channel: ChannelRow; member: MemberRow | undefined } | undefined> {
    const { rows } = await this.compiled.run(
      this.db,
      'channels.withMember',
      (p) =>
        this.db
          .selectFrom('channels as c')
          .leftJoin('channel_members as m', (join) => join.onRef('m.channel_id', '=', 'c.id').on('m.user_id', '=', p.userId))
          .selectAll('c')
          .select(['m.role as member_role', 'm.joined_at as member_joined_at', 'm.last_read_seq as member_last_read_seq'])
          .where('c.id', '=', p.channelId),
      { channelId, userId },
    );
    const row = rows[0];
    if (!row) return undefined;
    const { member_role, member_joined_at, member_last_read_seq, ...channel } = row;
    const member =
      member_role === null
        ? undefined
        : { channel_id: channelId, user_id: userId, role: member_role, joined_at: member_joined_at!, last_read_seq: member_last_read_seq! };
    return { channel, member };
  }

  async byDmKey(dmKey: string): Promise<ChannelRow | undefined> {
    return this.db.selectFrom('channels').selectAll().where('dm_key', '=', dmKey).executeTakeFirst();
  }

  async byName(workspaceId: string, name: string): Promise<ChannelRow | undefined> {
    return this.db
      .selectFrom('channels')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('name', '=', name)
      .where('kind', 'in', ['public', 'private'])
      .executeTakeFirst();
  }

  async update(id: string, patch: Updateable<Database['channels']>): Promise<void> {
    await this.db.updateTable('channels').set(patch).where('id', '=', id).execute();
  }

  /**
   * PostgreSQL only: locks the channels' rows in id order. Two nodes whose batches touch the same
   * channels then queue behind one another instead of deadlocking (which costs PostgreSQL's
   * deadlock_timeout, a second, per retry).
   */
  async lockInOrder(ids: readonly string[]): Promise<void> {
    await this.db.selectFrom('channels').select('id').where('id', 'in', ids).orderBy('id').forUpdate().execute();
  }

  /**
   * Takes the channel's next seq inside the caller's transaction (a row lock on PostgreSQL).
   * `lastRead`: the channel's last seq as this transaction read it. Then a plain compare-and-set
   * does, which always holds on SQLite's single writer and saves the RETURNING (a third of the
   * statement's cost there); when another node got in first (PostgreSQL), the seq is read back.
   */
  async nextSeq(id: string, lastRead?: number): Promise<number> {
    if (lastRead !== undefined) {
      const { numAffectedRows } = await this.compiled.run(
        this.db,
        'channels.advanceSeq',
        (p) => this.db.updateTable('channels').set({ last_seq: p.next }).where('id', '=', p.id).where('last_seq', '=', p.lastRead),
        { id, next: lastRead + 1, lastRead },
      );
      if (Number(numAffectedRows) === 1) return lastRead + 1;
    }
    const { rows } = await this.compiled.run(
      this.db,
      'channels.nextSeq',
      (p) => this.db.updateTable('channels').set({ last_seq: sql`last_seq + 1` }).where('id', '=', p.id).returning('last_seq'),
      { id },
    );
    if (!rows[0]) throw new Error(`no channel ${id}`);
    return Number(rows[0].last_seq);
  }

  async listPublic(workspaceId: string): Promise<ChannelRow[]> {
    return this.db
      .selectFrom('channels')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('kind', '=', 'public')
      .where('archived_at', 'is', null)
      .where('deleted_at', 'is', null)
      .orderBy('name')
      .execute();
  }

  /** The user's channels with read state, unread and mention counts. */
  async listForMember(userId: string, channelId?: string): Promise<MemberChannelRow[]> {
    let query = this.db
      .selectFrom('channel_members as cm')
      .innerJoin('channels as c', 'c.id', 'cm.channel_id')
      .selectAll('c')
      .select((eb) => [
        'cm.last_read_seq',
        eb
          .selectFrom('messages as m')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('m.channel_id', '=', 'cm.channel_id')
          .whereRef('m.seq', '>', 'cm.last_read_seq')
          .whereRef('m.sender_id', '!=', 'cm.user_id')
          .where('m.thread_root_id', 'is', null)
          .where('m.deleted_at', 'is', null)
          .as('unread_count'),
        // A message mentions me once, whether by name, @here or @channel, or all of them.
        eb
          .selectFrom('messages as m')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('m.channel_id', '=', 'cm.channel_id')
          .whereRef('m.seq', '>', 'cm.last_read_seq')
          .whereRef('m.sender_id', '!=', 'cm.user_id')
          .where('m.deleted_at', 'is', null)
          .where((w) =>
            w.or([
              w('m.mentions_channel', '=', 1),
              w.exists(
                w
                  .selectFrom('mentions as mn')
                  .select('mn.message_id')
                  .whereRef('mn.message_id', '=', 'm.id')
                  .whereRef('mn.user_id', '=', 'cm.user_id'),
              ),
            ]),
          )
          .as('mention_count'),
      ])
      .where('cm.user_id', '=', userId);
    if (channelId) query = query.where('cm.channel_id', '=', channelId);
    const rows = await query.orderBy('c.name').execute();
    return rows.map((r) => ({
      ...r,
      last_read_seq: Number(r.last_read_seq),
      unread_count: Number(r.unread_count),
      mention_count: Number(r.mention_count),
    }));
  }

  async member(channelId: string, userId: string): Promise<MemberRow | undefined> {
    const { rows } = await this.compiled.run(
      this.db,
      'channels.member',
      (p) => this.db.selectFrom('channel_members').selectAll().where('channel_id', '=', p.channelId).where('user_id', '=', p.userId),
      { channelId, userId },
    );
    return rows[0];
  }

  async members(channelId: string): Promise<MemberRow[]> {
    return this.db.selectFrom('channel_members').selectAll().where('channel_id', '=', channelId).orderBy('joined_at').execute();
  }

  async memberIds(channelId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('channel_members').select('user_id').where('channel_id', '=', channelId).execute();
    return rows.map((r) => r.user_id);
  }

  /** Every member's read position, ascending: the per-message unread count is a binary search in it. */
  async readPositions(channelId: string): Promise<number[]> {
    const rows = await this.db
      .selectFrom('channel_members')
      .select('last_read_seq')
      .where('channel_id', '=', channelId)
      .orderBy('last_read_seq')
      .execute();
    return rows.map((r) => Number(r.last_read_seq));
  }

  /** Channel id → newest seq, for every channel the user belongs to. */
  async seqsOfMember(userId: string): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('channel_members as cm')
      .innerJoin('channels as c', 'c.id', 'cm.channel_id')
      .select(['c.id', 'c.last_seq'])
      .where('cm.user_id', '=', userId)
      .execute();
    return new Map(rows.map((r) => [r.id, Number(r.last_seq)]));
  }

  async addMember(member: MemberRow): Promise<void> {
    await this.db.insertInto('channel_members').values(member).execute();
    await this.db
      .updateTable('channels')
      .set({ member_count: sql`member_count + 1` })
      .where('id', '=', member.channel_id)
      .execute();
  }

  async removeMember(channelId: string, userId: string): Promise<void> {
    await this.db.deleteFrom('channel_members').where('channel_id', '=', channelId).where('user_id', '=', userId).execute();
    await this.db
      .updateTable('channels')
      .set({ member_count: sql`member_count - 1` })
      .where('id', '=', channelId)
      .execute();
  }

  /** Moves the read position forward only. */
  async advanceRead(channelId: string, userId: string, seq: number): Promise<void> {
    await this.compiled.run(
      this.db,
      'channels.advanceRead',
      (p) =>
        this.db
          .updateTable('channel_members')
          .set({ last_read_seq: p.seq })
          .where('channel_id', '=', p.channelId)
          .where('user_id', '=', p.userId)
          .where('last_read_seq', '<', p.seq),
      { channelId, userId, seq },
    );
  }
}
