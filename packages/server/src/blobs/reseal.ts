import type { FileRow } from '../store/schema.js';
import type { StoreProvider } from '../store/store.js';
import type { BlobPlace, BlobStore } from './blob-store.js';

export interface ResealProgress {
  /** Blobs written anew under their channel's key (a file and its preview count apart). */
  blobs: number;
  /** Old blobs removed once no file pointed at them any more. */
  removed: number;
  scanned: number;
}

const PAGE = 100;

/**
 * Moves every live file's blob and preview that is stored in plaintext or under the old
 * server-wide key to a blob sealed under its channel's key (`sotong keys seal-existing`): the
 * plaintext is streamed from the old blob into a new one, the file row is switched with a
 * compare-and-set (a concurrent change wins), and the old blob goes once nothing points at it.
 * Resumable: it only picks blobs not yet under a channel key. Online: readers see the old blob or
 * the new one, both whole.
 */
export class BlobResealer {
  constructor(
    private readonly store: StoreProvider,
    private readonly blobs: BlobStore,
  ) {}

  async run(onProgress: (p: ResealProgress) => void = () => {}): Promise<ResealProgress> {
    const progress: ResealProgress = { blobs: 0, removed: 0, scanned: 0 };
    for (let after = ''; ; ) {
      const files = await this.store.read.files.liveAfter(after, PAGE);
      if (files.length === 0) return progress;
      for (const file of files) {
        await this.reseal(file, 'sha256', file.sha256, progress);
        if (file.preview_sha256 !== null) await this.reseal(file, 'preview_sha256', file.preview_sha256, progress);
      }
      progress.scanned += files.length;
      after = files[files.length - 1]!.id;
      onProgress(progress);
    }
  }

  private async reseal(file: FileRow, which: 'sha256' | 'preview_sha256', old: string, progress: ResealProgress): Promise<void> {
    if (!(await this.blobs.exists(old)) || (await this.blobs.sealing(old)) === 'channel') return;
    const place: BlobPlace = { workspaceId: file.workspace_id, channelId: file.channel_id };
    const fresh = await this.blobs.put(place, await this.blobs.open(place, old), Number.MAX_SAFE_INTEGER);
    const outcome = await this.store.transaction(async (tx) => {
      const moved = await tx.files.moveBlob(file.id, which, old, fresh.address);
      const orphan = moved ? [] : [fresh.address];
      if (!(await tx.files.references(old))) orphan.push(old);
      for (const address of orphan) if (!(await tx.files.references(address))) await this.blobs.delete(address);
      return { moved, removedOld: orphan.includes(old) };
    });
    if (outcome.moved) progress.blobs++;
    if (outcome.removedOld) progress.removed++;
  }
}
