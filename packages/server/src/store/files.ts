import { sql, type Kysely } from 'kysely';
import type { Database, FileRow } from './schema.js';

export interface FileFacts {
  width: number | null;
  height: number | null;
  durationMs: number | null;
  preview: { sha256: string; size: number } | null;
}

/** Uploaded files: metadata over content-addressed blobs, and their link to the message that carries them. */
export class FileStore {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: FileRow): Promise<void> {
    await this.db.insertInto('files').values(row).execute();
  }

  async byId(id: string): Promise<FileRow | undefined> {
    return this.db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byIds(ids: readonly string[]): Promise<FileRow[]> {
    if (ids.length === 0) return [];
    return this.db.selectFrom('files').selectAll().where('id', 'in', ids).execute();
  }

  /** Live files carried by these messages, in upload order. */
  async ofMessages(messageIds: readonly string[]): Promise<FileRow[]> {
    if (messageIds.length === 0) return [];
    return this.db
      .selectFrom('files')
      .selectAll()
      .where('message_id', 'in', messageIds)
      .where('deleted_at', 'is', null)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  /** Live files sent in a channel, newest first, below the `before` id when given. */
  async ofChannel(channelId: string, page: { before?: string; limit: number }): Promise<FileRow[]> {
    let query = this.db
      .selectFrom('files')
      .selectAll()
      .where('channel_id', '=', channelId)
      .where('message_id', 'is not', null)
      .where('deleted_at', 'is', null);
    if (page.before !== undefined) query = query.where('id', '<', page.before);
    return query.orderBy('id', 'desc').limit(page.limit).execute();
  }

  /** Bytes held by live files, of one uploader or a whole workspace (each upload counts, shared blobs too). */
  async usage(by: { uploaderId: string } | { workspaceId: string }): Promise<number> {
    const query = this.db
      .selectFrom('files')
      .select(sql<string | number | null>`sum(size)`.as('bytes'))
      .where('deleted_at', 'is', null);
    const row = await ('uploaderId' in by ? query.where('uploader_id', '=', by.uploaderId) : query.where('workspace_id', '=', by.workspaceId)).executeTakeFirst();
    return Number(row?.bytes ?? 0);
  }

  async attach(fileIds: readonly string[], messageId: string): Promise<void> {
    if (fileIds.length === 0) return;
    await this.db.updateTable('files').set({ message_id: messageId }).where('id', 'in', fileIds).execute();
  }

  /** The message is gone: so is its files' reference to their blobs. */
  async releaseOfMessage(messageId: string, deletedAt: number): Promise<void> {
    await this.db.updateTable('files').set({ deleted_at: deletedAt }).where('message_id', '=', messageId).where('deleted_at', 'is', null).execute();
  }

  /** The channel is gone: so are all its files, sent or not. */
  async releaseOfChannel(channelId: string, deletedAt: number): Promise<void> {
    await this.db.updateTable('files').set({ deleted_at: deletedAt }).where('channel_id', '=', channelId).where('deleted_at', 'is', null).execute();
  }

  /** Files uploaded before `createdBefore` and never sent in a message count as deleted. Returns how many. */
  async expireUnsent(createdBefore: number, deletedAt: number): Promise<number> {
    const result = await this.db
      .updateTable('files')
      .set({ deleted_at: deletedAt })
      .where('message_id', 'is', null)
      .where('deleted_at', 'is', null)
      .where('created_at', '<', createdBefore)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async recordFacts(id: string, facts: FileFacts): Promise<void> {
    await this.db
      .updateTable('files')
      .set({
        width: facts.width,
        height: facts.height,
        duration_ms: facts.durationMs,
        preview_sha256: facts.preview?.sha256 ?? null,
        preview_size: facts.preview?.size ?? null,
      })
      .where('id', '=', id)
      .execute();
  }

  /** Up to `limit` deleted files, to be forgotten by the sweeper. */
  async deleted(limit: number): Promise<FileRow[]> {
    return this.db.selectFrom('files').selectAll().where('deleted_at', 'is not', null).orderBy('deleted_at').limit(limit).execute();
  }

  async forget(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.deleteFrom('files').where('id', 'in', ids).execute();
  }

  /** Live files after `afterId`, in id order: what `sotong keys seal-existing` walks to re-seal old blobs. */
  async liveAfter(afterId: string, limit: number): Promise<FileRow[]> {
    return this.db.selectFrom('files').selectAll().where('id', '>', afterId).where('deleted_at', 'is', null).orderBy('id').limit(limit).execute();
  }

  /** Points the file (or its preview) at another blob, only if it still points at `from`; true if it did. */
  async moveBlob(id: string, which: 'sha256' | 'preview_sha256', from: string, to: string): Promise<boolean> {
    const result = await this.db.updateTable('files').set({ [which]: to }).where('id', '=', id).where(which, '=', from).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Whether any remaining file row, as content or as preview, still points at this blob. */
  async references(sha256: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('files')
      .select('id')
      .where((eb) => eb.or([eb('sha256', '=', sha256), eb('preview_sha256', '=', sha256)]))
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }
}
