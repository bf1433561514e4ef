import { SotongError, type ChannelFile, type FileInfo } from '@sotong/protocol';
import type { Readable } from 'node:stream';
import type { BlobPlace, BlobStore, ByteRange } from '../blobs/blob-store.js';
import { newId } from '../ids.js';
import type { FileRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { loadChannel, type ServiceDeps } from './context.js';
import { splitHead } from './file-head.js';
import { assertTypeAllowed, detectMime, SNIFF_BYTES, type TypePolicy } from './file-types.js';
import type { FileLinkSigner, LinkVariant } from './file-links.js';
import { assertCan, can, type Actor } from './permissions.js';

export interface FileLimits {
  maxFileBytes: number;
  /** 0: no quota. */
  quotaUserBytes: number;
  quotaWorkspaceBytes: number;
  types: TypePolicy;
  /** Uploaded but never sent in a message: removed after this long. */
  unsentTtlMs: number;
}

export interface Upload {
  channelId: string;
  name: string;
  body: AsyncIterable<Uint8Array>;
  /** Content-Length, when the client sent one: lets a hopeless upload be refused before any byte is stored. */
  declaredSize?: number;
}

/** Told about each new file, to make its preview off the request path. */
export type FileListener = (file: FileRow) => void;

/** What a download serves: a blob (named by `sha256`, the files table's column) of a file's channel. */
export interface Served {
  sha256: string;
  size: number;
  mime: string;
  name: string;
  place: BlobPlace;
}

export const placeOf = (file: FileRow): BlobPlace => ({ workspaceId: file.workspace_id, channelId: file.channel_id });

const SWEEP_BATCH = 500;
const PREVIEW_MIME = 'image/webp';

export function fileView(row: FileRow): FileInfo {
  const info: FileInfo = {
    id: row.id,
    name: row.name,
    mime: row.mime,
    size: Number(row.size),
    createdAt: Number(row.created_at),
    hasPreview: row.preview_sha256 !== null,
  };
  if (row.width !== null) info.width = Number(row.width);
  if (row.height !== null) info.height = Number(row.height);
  if (row.duration_ms !== null) info.durationMs = Number(row.duration_ms);
  return info;
}

/** A name fit for storage and headers: NFC (Korean typed on macOS arrives decomposed), no path, no control characters. */
export function cleanName(raw: string): string {
  const base = raw.normalize('NFC').split(/[/\\]/).pop() ?? '';
  const name = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  if (name.length === 0 || name === '.' || name === '..') throw new SotongError('bad_request', 'a file needs a name');
  return name;
}

/**
 * The files a new message may carry: uploaded by its sender, to its channel, not sent before.
 * Runs in the message's transaction, so two messages cannot both take one file.
 */
export async function claimFiles(tx: Store, actor: Actor, channelId: string, fileIds: readonly string[]): Promise<FileRow[]> {
  const ids = [...new Set(fileIds)];
  const rows = await tx.files.byIds(ids);
  for (const id of ids) {
    const row = rows.find((r) => r.id === id);
    if (!row || row.uploader_id !== actor.userId || row.deleted_at !== null) throw new SotongError('not_found', `no such file ${id}`);
    if (row.channel_id !== channelId) throw new SotongError('bad_request', `file ${id} was uploaded to another channel`);
    if (row.message_id !== null) throw new SotongError('conflict', `file ${id} is already in a message`);
  }
  return ids.map((id) => rows.find((r) => r.id === id)!);
}

export class FileService {
  private readonly listeners: FileListener[] = [];

  constructor(
    private readonly deps: ServiceDeps,
    private readonly blobs: BlobStore,
    private readonly limits: FileLimits,
    private readonly links: FileLinkSigner,
  ) {}

  onUploaded(listener: FileListener): void {
    this.listeners.push(listener);
  }

  /** Whether an upload of this size to this channel could succeed: before any byte is taken. */
  async admit(actor: Actor, channelId: string, name: string, declaredSize?: number): Promise<void> {
    cleanName(name);
    assertCan(actor, 'channel.post', { kind: 'channel', ...(await loadChannel(this.deps.store.read, channelId, actor.userId)) });
    if (declaredSize === undefined) return;
    const { maxFileBytes } = this.limits;
    if (declaredSize > maxFileBytes) throw new SotongError('too_large', `a file has at most ${maxFileBytes} bytes`, { limit: maxFileBytes });
    await this.assertQuota(this.deps.store.read, actor, declaredSize);
  }

  async upload(actor: Actor, upload: Upload): Promise<FileInfo> {
    await this.admit(actor, upload.channelId, upload.name, upload.declaredSize);
    const name = cleanName(upload.name);
    const { maxFileBytes } = this.limits;
    const { head, all } = await splitHead(upload.body, SNIFF_BYTES);
    const mime = await detectMime(head);
    assertTypeAllowed(mime, this.limits.types);
    const blob = await this.blobs.put({ workspaceId: actor.workspaceId, channelId: upload.channelId }, all, maxFileBytes);

    const row = await this.deps.queue.run(async (tx) => {
      try {
        assertCan(actor, 'channel.post', { kind: 'channel', ...(await loadChannel(tx, upload.channelId, actor.userId)) });
        await this.assertQuota(tx, actor, blob.size);
      } catch (err) {
        // Refused after the bytes were stored. Inside the writer's transaction nobody can start referencing them meanwhile.
        if (!(await tx.files.references(blob.address))) await this.blobs.delete(blob.address);
        throw err;
      }
      // The sweeper may have collected identical bytes between our write and this transaction.
      if (!(await this.blobs.exists(blob.address))) throw new SotongError('unavailable', 'the upload collided with a cleanup; send it again');
      const now = this.deps.now();
      const file: FileRow = {
        id: newId('f', now),
        workspace_id: actor.workspaceId,
        uploader_id: actor.userId,
        channel_id: upload.channelId,
        message_id: null,
        sha256: blob.address,
        size: blob.size,
        name,
        mime,
        created_at: now,
        width: null,
        height: null,
        duration_ms: null,
        preview_sha256: null,
        preview_size: null,
        deleted_at: null,
      };
      await tx.files.insert(file);
      return { result: file };
    });
    for (const listener of this.listeners) listener(row);
    return fileView(row);
  }

  /** The file if the actor may read it; others (and deleted files) are not found, so ids reveal nothing. */
  async readable(actor: Actor, fileId: string): Promise<FileRow> {
    const store = this.deps.store.read;
    const file = await store.files.byId(fileId);
    if (!file || file.deleted_at !== null) throw new SotongError('not_found', 'no such file');
    const ctx = await loadChannel(store, file.channel_id, actor.userId);
    if (!can(actor, 'file.read', { kind: 'file', ...ctx, file })) throw new SotongError('not_found', 'no such file');
    return file;
  }

  /** A page of the files sent in a channel, newest first: for whoever may read the channel's messages. */
  async ofChannel(actor: Actor, channelId: string, page: { before?: string; limit: number }): Promise<{ files: ChannelFile[]; nextBefore: string | null }> {
    const store = this.deps.store.read;
    assertCan(actor, 'channel.read', { kind: 'channel', ...(await loadChannel(store, channelId, actor.userId)) });
    const rows = await store.files.ofChannel(channelId, { ...page, limit: page.limit + 1 });
    const more = rows.length > page.limit;
    const shown = rows.slice(0, page.limit);
    return {
      files: shown.map((row) => ({ ...fileView(row), uploaderId: row.uploader_id, messageId: row.message_id! })),
      nextBefore: more ? shown[shown.length - 1]!.id : null,
    };
  }

  info(file: FileRow): FileInfo {
    return fileView(file);
  }

  /** The preview image of a readable file, once the worker has made it. */
  preview(file: FileRow): Served {
    if (file.preview_sha256 === null || file.preview_size === null) throw new SotongError('not_found', 'no preview (yet)');
    return { sha256: file.preview_sha256, size: Number(file.preview_size), mime: PREVIEW_MIME, name: `${file.name}.preview.webp`, place: placeOf(file) };
  }

  /** What a link downloads: the file itself, or its preview. */
  served(file: FileRow, variant: LinkVariant): Served {
    return variant === 'preview' ? this.preview(file) : { sha256: file.sha256, size: Number(file.size), mime: file.mime, name: file.name, place: placeOf(file) };
  }

  /**
   * A short-lived URL (path and query, under the API) that downloads the file, or its preview,
   * without a bearer token: for `<img src>` and `<video src>`. Issued only to someone who may read it.
   */
  async link(actor: Actor, fileId: string, variant: LinkVariant): Promise<{ url: string; expiresAt: number }> {
    const file = await this.readable(actor, fileId);
    this.served(file, variant); // a preview link only once there is a preview
    const expiresAt = this.deps.now() + this.links.ttlMs;
    const query = this.links.sign({ fileId, userId: actor.userId, variant, expiresAt });
    return { url: `/api/v1/files/${encodeURIComponent(fileId)}/signed?${query}`, expiresAt };
  }

  /**
   * What a signed link leads to, after the signature and expiry and, again, the permission of the
   * user it was issued to: someone who has left the channel since cannot use a link they kept.
   */
  async byLink(fileId: string, query: Record<string, unknown>): Promise<Served & { expiresAt: number }> {
    const claims = this.links.verify(fileId, query, this.deps.now());
    const store = this.deps.store.read;
    const file = await store.files.byId(fileId);
    if (!file) throw new SotongError('not_found', 'no such file');
    const [user, role] = await Promise.all([store.users.byId(claims.userId), store.users.workspaceRole(file.workspace_id, claims.userId)]);
    if (!user || user.deactivated_at !== null || !role) throw new SotongError('not_found', 'no such file');
    const readable = await this.readable({ userId: claims.userId, workspaceId: file.workspace_id, role: role as Actor['role'] }, fileId);
    return { ...this.served(readable, claims.variant), expiresAt: claims.expiresAt };
  }

  /** The plaintext of a served blob; refused before any byte if it does not open (its channel's keys shredded). */
  blob(served: Served, range?: ByteRange): Promise<Readable> {
    return this.blobs.open(served.place, served.sha256, range);
  }

  /** Forgets deleted files and removes the blobs no file points at any more (workspace admins, on demand). */
  async collect(actor: Actor): Promise<{ files: number; blobs: number }> {
    assertCan(actor, 'files.collect', { kind: 'workspace', workspaceId: actor.workspaceId });
    return this.collectGarbage();
  }

  /** The sweeper's pass: files never sent expire, then deleted files and unreferenced blobs go. */
  async sweep(): Promise<{ expired: number; files: number; blobs: number }> {
    const expired = await this.deps.queue.run(async (tx) => {
      const now = this.deps.now();
      return { result: await tx.files.expireUnsent(now - this.limits.unsentTtlMs, now) };
    });
    return { expired, ...(await this.collectGarbage()) };
  }

  private async collectGarbage(): Promise<{ files: number; blobs: number }> {
    const total = { files: 0, blobs: 0 };
    for (;;) {
      const step = await this.deps.queue.run(async (tx) => {
        const dead = await tx.files.deleted(SWEEP_BATCH);
        await tx.files.forget(dead.map((f) => f.id));
        const candidates = new Set(dead.flatMap((f) => (f.preview_sha256 ? [f.sha256, f.preview_sha256] : [f.sha256])));
        let blobs = 0;
        for (const sha256 of candidates) {
          if (await tx.files.references(sha256)) continue;
          await this.blobs.delete(sha256);
          blobs++;
        }
        return { result: { files: dead.length, blobs } };
      });
      total.files += step.files;
      total.blobs += step.blobs;
      if (step.files < SWEEP_BATCH) return total;
    }
  }

  private async assertQuota(store: Store, actor: Actor, incoming: number): Promise<void> {
    const { quotaUserBytes, quotaWorkspaceBytes } = this.limits;
    if (quotaUserBytes > 0 && (await store.files.usage({ uploaderId: actor.userId })) + incoming > quotaUserBytes) {
      throw new SotongError('quota_exceeded', 'your file storage quota is used up', { scope: 'user', limit: quotaUserBytes });
    }
    if (quotaWorkspaceBytes > 0 && (await store.files.usage({ workspaceId: actor.workspaceId })) + incoming > quotaWorkspaceBytes) {
      throw new SotongError('quota_exceeded', "the workspace's file storage quota is used up", { scope: 'workspace', limit: quotaWorkspaceBytes });
    }
  }
}
