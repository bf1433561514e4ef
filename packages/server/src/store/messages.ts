import { sql, type Kysely } from 'kysely';
import type { CompiledQueries } from './compiled.js';
import type { Database, MessageRow, NewMessage } from './schema.js';

export interface ReactionRow {
  message_id: string;
  emoji: string;
  user_id: string;
}

/** `keys/sealed.ts`'s format name; the store never parses content, it only tells sealed rows from the rest. */
const SEALED_FORMAT = 'sealed/v1';

export class MessageStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly compiled: CompiledQueries,
  ) {}

  /** Inserts a message and returns its integer key (the search index's row id). */
  async insert(message: NewMessage): Promise<number> {
    const { rows } = await this.compiled.run(this.db, 'messages.insert', (p) => this.db.insertInto('messages').values(p).returning('pk'), message);
    return Number(rows[0]!.pk);
  }

  async byId(id: string): Promise<MessageRow | undefined> {
    const { rows } = await this.compiled.run(this.db, 'messages.byId', (p) => this.db.selectFrom('messages').selectAll().where('id', '=', p.id), { id });
    return rows[0];
  }

  async byIds(ids: readonly string[]): Promise<MessageRow[]> {
    if (ids.length === 0) return [];
    return this.db.selectFrom('messages').selectAll().where('id', 'in', ids).execute();
  }

  async byClientMsgId(channelId: string, senderId: string, clientMsgId: string): Promise<MessageRow | undefined> {
    const { rows } = await this.compiled.run(
      this.db,
      'messages.byClientMsgId',
      (p) =>
        this.db
          .selectFrom('messages')
          .selectAll()
          .where('channel_id', '=', p.channelId)
          .where('sender_id', '=', p.senderId)
          .where('client_msg_id', '=', p.clientMsgId),
      { channelId, senderId, clientMsgId },
    );
    return rows[0];
  }

  async replaceContent(id: string, format: string, content: Uint8Array, editedAt: number, hasLink: boolean, mentionsChannel: boolean): Promise<void> {
    await this.db
      .updateTable('messages')
      .set({ content_format: format, content, edited_at: editedAt, has_link: hasLink ? 1 : 0, mentions_channel: mentionsChannel ? 1 : 0 })
      .where('id', '=', id)
      .execute();
  }

  /** Leaves a tombstone: the row keeps its place in the log, the content and everything derived from it go. */
  async tombstone(id: string, deletedAt: number): Promise<void> {
    await this.db
      .updateTable('messages')
      .set({ content: new Uint8Array(0), deleted_at: deletedAt, pinned_at: null, mentions_channel: 0, has_link: 0, has_file: 0 })
      .where('id', '=', id)
      .execute();
    await this.db.deleteFrom('message_edits').where('message_id', '=', id).execute();
    await this.db.deleteFrom('reactions').where('message_id', '=', id).execute();
    await this.db.deleteFrom('mentions').where('message_id', '=', id).execute();
  }

  async recordEdit(messageId: string, editedAt: number, format: string, content: Uint8Array): Promise<void> {
    await this.db.insertInto('message_edits').values({ message_id: messageId, edited_at: editedAt, content_format: format, content }).execute();
  }

  /**
   * Live messages after `afterPk` whose content is not sealed (written while encryption at rest was
   * off), with their channel's workspace: what `sotong keys seal-existing` works through.
   */
  async unsealed(afterPk: number, limit: number): Promise<(MessageRow & { workspace_id: string })[]> {
    return this.db
      .selectFrom('messages as m')
      .innerJoin('channels as c', 'c.id', 'm.channel_id')
      .selectAll('m')
      .select('c.workspace_id')
      .where('m.pk', '>', afterPk)
      .where('m.content_format', '<>', SEALED_FORMAT)
      .where('m.deleted_at', 'is', null)
      .orderBy('m.pk')
      .limit(limit)
      .execute();
  }

  /** Replaces the content with its sealed form, only if nobody changed its format meanwhile (an edit); true if it did. */
  async sealInPlace(id: string, fromFormat: string, format: string, content: Uint8Array): Promise<boolean> {
    const result = await this.db.updateTable('messages').set({ content_format: format, content }).where('id', '=', id).where('content_format', '=', fromFormat).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Edit-history rows not sealed, after (`afterMessageId`, `afterEditedAt`), with the channel and workspace of their message. */
  async unsealedEdits(afterMessageId: string, afterEditedAt: number, limit: number): Promise<{ message_id: string; edited_at: number; content_format: string; content: Uint8Array; channel_id: string; workspace_id: string }[]> {
    return this.db
      .selectFrom('message_edits as e')
      .innerJoin('messages as m', 'm.id', 'e.message_id')
      .innerJoin('channels as c', 'c.id', 'm.channel_id')
      .select(['e.message_id', 'e.edited_at', 'e.content_format', 'e.content', 'm.channel_id', 'c.workspace_id'])
      .where((eb) => eb.or([eb('e.message_id', '>', afterMessageId), eb.and([eb('e.message_id', '=', afterMessageId), eb('e.edited_at', '>', afterEditedAt)])]))
      .where('e.content_format', '<>', SEALED_FORMAT)
      .orderBy('e.message_id')
      .orderBy('e.edited_at')
      .limit(limit)
      .execute();
  }

  async sealEditInPlace(messageId: string, editedAt: number, fromFormat: string, format: string, content: Uint8Array): Promise<boolean> {
    const result = await this.db
      .updateTable('message_edits')
      .set({ content_format: format, content })
      .where('message_id', '=', messageId)
      .where('edited_at', '=', editedAt)
      .where('content_format', '=', fromFormat)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async edits(messageId: string): Promise<{ edited_at: number; content_format: string; content: Uint8Array }[]> {
    return this.db
      .selectFrom('message_edits')
      .select(['edited_at', 'content_format', 'content'])
      .where('message_id', '=', messageId)
      .orderBy('edited_at')
      .execute();
  }

  async addReply(rootId: string, at: number): Promise<void> {
    await this.db
      .updateTable('messages')
      .set({ reply_count: sql`reply_count + 1`, last_reply_at: at })
      .where('id', '=', rootId)
      .execute();
  }

  async removeReply(rootId: string): Promise<void> {
    await this.db.updateTable('messages').set({ reply_count: sql`reply_count - 1` }).where('id', '=', rootId).execute();
  }

  async setPinned(id: string, pinnedAt: number | null): Promise<void> {
    await this.db.updateTable('messages').set({ pinned_at: pinnedAt }).where('id', '=', id).execute();
  }

  async pinned(channelId: string): Promise<MessageRow[]> {
    return this.db
      .selectFrom('messages')
      .selectAll()
      .where('channel_id', '=', channelId)
      .where('pinned_at', 'is not', null)
      .orderBy('pinned_at', 'desc')
      .execute();
  }

  /** The search keys of the channel's messages not deleted yet. */
  async liveKeysOfChannel(channelId: string): Promise<number[]> {
    const rows = await this.db.selectFrom('messages').select('pk').where('channel_id', '=', channelId).where('deleted_at', 'is', null).execute();
    return rows.map((r) => Number(r.pk));
  }

  /** `tombstone` for every message of a channel at once (a deleted channel), in a few statements whatever its size. */
  async tombstoneChannel(channelId: string, deletedAt: number): Promise<void> {
    const ids = this.db.selectFrom('messages').select('id').where('channel_id', '=', channelId);
    await this.db.deleteFrom('message_edits').where('message_id', 'in', ids).execute();
    await this.db.deleteFrom('reactions').where('message_id', 'in', ids).execute();
    await this.db.deleteFrom('mentions').where('channel_id', '=', channelId).execute();
    await this.db
      .updateTable('messages')
      .set({ content: new Uint8Array(0), deleted_at: deletedAt, pinned_at: null, mentions_channel: 0, has_link: 0, has_file: 0 })
      .where('channel_id', '=', channelId)
      .where('deleted_at', 'is', null)
      .execute();
  }

  /** Top-level messages of a channel, oldest first, in a seq window. */
  async page(channelId: string, window: { beforeSeq?: number; afterSeq?: number }, limit: number): Promise<MessageRow[]> {
    let query = this.db.selectFrom('messages').selectAll().where('channel_id', '=', channelId).where('thread_root_id', 'is', null);
    if (window.afterSeq !== undefined) {
      query = query.where('seq', '>', window.afterSeq);
      if (window.beforeSeq !== undefined) query = query.where('seq', '<', window.beforeSeq);
      return query.orderBy('seq', 'asc').limit(limit).execute();
    }
    if (window.beforeSeq !== undefined) query = query.where('seq', '<', window.beforeSeq);
    const rows = await query.orderBy('seq', 'desc').limit(limit).execute();
    return rows.reverse();
  }

  async replies(rootId: string, afterSeq: number, limit: number): Promise<MessageRow[]> {
    return this.db
      .selectFrom('messages')
      .selectAll()
      .where('thread_root_id', '=', rootId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  async reactionsOf(messageIds: readonly string[]): Promise<ReactionRow[]> {
    if (messageIds.length === 0) return [];
    return this.db
      .selectFrom('reactions')
      .select(['message_id', 'emoji', 'user_id'])
      .where('message_id', 'in', messageIds)
      .orderBy('created_at')
      .execute();
  }

  async hasReaction(messageId: string, emoji: string, userId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('reactions')
      .select('user_id')
      .where('message_id', '=', messageId)
      .where('emoji', '=', emoji)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async addReaction(messageId: string, emoji: string, userId: string, now: number): Promise<void> {
    await this.db.insertInto('reactions').values({ message_id: messageId, emoji, user_id: userId, created_at: now }).execute();
  }

  async removeReaction(messageId: string, emoji: string, userId: string): Promise<void> {
    await this.db
      .deleteFrom('reactions')
      .where('message_id', '=', messageId)
      .where('emoji', '=', emoji)
      .where('user_id', '=', userId)
      .execute();
  }

  async mentionsOf(messageIds: readonly string[]): Promise<{ message_id: string; user_id: string }[]> {
    if (messageIds.length === 0) return [];
    return this.db.selectFrom('mentions').select(['message_id', 'user_id']).where('message_id', 'in', messageIds).execute();
  }

  async replaceMentions(messageId: string, channelId: string, seq: number, userIds: readonly string[]): Promise<void> {
    await this.db.deleteFrom('mentions').where('message_id', '=', messageId).execute();
    if (userIds.length === 0) return;
    await this.db
      .insertInto('mentions')
      .values(userIds.map((user_id) => ({ message_id: messageId, channel_id: channelId, seq, user_id })))
      .execute();
  }
}
