import { SotongError } from '@sotong/protocol';
import type { BlobStore } from '../blobs/blob-store.js';
import { BlobResealer } from '../blobs/reseal.js';
import { decodeText, TEXT_V1 } from '../services/content.js';
import type { StoreProvider } from '../store/store.js';
import type { AtRest } from './at-rest.js';
import type { DataKey, KeyRing } from './key-ring.js';
import { sealWith } from './sealed.js';

export interface SealProgress {
  messages: number;
  edits: number;
  /** File blobs and previews moved under their channel's key. */
  blobs: number;
  /** Rows looked at so far in the current pass. */
  scanned: number;
}

/** The same binding `at-rest.ts` gives a message version: its id and its time. */
const versionId = (messageId: string, at: number | string) => `${messageId}@${Number(at)}`;

/**
 * `sotong keys seal-existing`: seals what was written while encryption at rest was off — message
 * content and edit history, and file blobs (`blobs/reseal.ts`) — in batches, online (each row is swapped only if its format did not
 * change meanwhile) and resumable (it only picks rows not yet sealed). Each sealed message is
 * re-indexed with keyed tokens, so its plain words leave the search index, which is compacted last.
 * It works beneath the encryption layer (which refuses these writes) on the plain store.
 */
export class SealExisting {
  constructor(
    private readonly ring: KeyRing,
    private readonly atRest: AtRest,
    private readonly store: StoreProvider,
    private readonly blobs: BlobStore,
    private readonly batch = 200,
  ) {}

  async run(onProgress: (p: SealProgress) => void = () => {}): Promise<SealProgress> {
    if (!this.atRest.enabled) throw new SotongError('bad_request', 'encryption at rest is off (SOTONG_AT_REST=false): turn it on for the server first');
    const progress: SealProgress = { messages: 0, edits: 0, blobs: 0, scanned: 0 };
    await this.messages(progress, onProgress);
    progress.scanned = 0;
    await this.edits(progress, onProgress);
    await this.store.transaction((tx) => tx.search.compact());
    progress.scanned = 0;
    progress.blobs = (await new BlobResealer(this.store, this.blobs).run((p) => onProgress({ ...progress, blobs: p.blobs, scanned: p.scanned }))).blobs;
    return progress;
  }

  private async messages(progress: SealProgress, onProgress: (p: SealProgress) => void): Promise<void> {
    for (let after = 0; ; ) {
      const rows = await this.store.read.messages.unsealed(after, this.batch);
      if (rows.length === 0) return;
      const keys = await this.keysFor(rows);
      // Tokens need the text and the workspace's index key: both outside the write transaction.
      const tokens = new Map<string, string[]>();
      for (const row of rows) {
        if (row.content_format === TEXT_V1) tokens.set(row.id, await this.atRest.prepare(row.workspace_id, row.channel_id, decodeText(row.content_format, row.content)));
      }
      progress.messages += await this.store.transaction(async (tx) => {
        let sealed = 0;
        for (const row of rows) {
          const binding = { workspaceId: row.workspace_id, channelId: row.channel_id, kind: 'message', recordId: versionId(row.id, row.edited_at ?? row.created_at) };
          const { format, content } = sealWith(keys.get(row.channel_id)!, binding, row.content_format, row.content);
          if (!(await tx.messages.sealInPlace(row.id, row.content_format, format, content))) continue;
          sealed++;
          const words = tokens.get(row.id);
          if (words === undefined) continue;
          await tx.search.remove(row.pk);
          await tx.search.index(row.pk, words);
        }
        return sealed;
      });
      progress.scanned += rows.length;
      after = rows[rows.length - 1]!.pk;
      onProgress(progress);
    }
  }

  private async edits(progress: SealProgress, onProgress: (p: SealProgress) => void): Promise<void> {
    for (let after = { id: '', at: -1 }; ; ) {
      const rows = await this.store.read.messages.unsealedEdits(after.id, after.at, this.batch);
      if (rows.length === 0) return;
      const keys = await this.keysFor(rows);
      progress.edits += await this.store.transaction(async (tx) => {
        let sealed = 0;
        for (const row of rows) {
          const binding = { workspaceId: row.workspace_id, channelId: row.channel_id, kind: 'message', recordId: versionId(row.message_id, row.edited_at) };
          const { format, content } = sealWith(keys.get(row.channel_id)!, binding, row.content_format, row.content);
          if (await tx.messages.sealEditInPlace(row.message_id, Number(row.edited_at), row.content_format, format, content)) sealed++;
        }
        return sealed;
      });
      progress.scanned += rows.length;
      const last = rows[rows.length - 1]!;
      after = { id: last.message_id, at: Number(last.edited_at) };
      onProgress(progress);
    }
  }

  /** Each channel's sealing key, fetched (maybe from the KMS) before the transaction. */
  private async keysFor(rows: readonly { workspace_id: string; channel_id: string }[]): Promise<Map<string, DataKey>> {
    const keys = new Map<string, DataKey>();
    for (const { workspace_id, channel_id } of rows) {
      if (!keys.has(channel_id)) keys.set(channel_id, await this.ring.sealingKey(workspace_id, channel_id));
    }
    return keys;
  }
}
