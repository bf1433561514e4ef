import sharp from 'sharp';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Logger } from '../logger.js';
import type { FileFacts } from '../store/files.js';
import type { FileRow } from '../store/schema.js';
import type { ServiceDeps } from './context.js';
import { placeOf } from './files.js';
import { mediaFacts, pdfFirstPage, posterFrame, withLocalCopy, type PreviewTools } from './file-preview-tools.js';

/** Larger images are not decoded for a preview: sharp holds a streamed input in memory. */
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;
/** Nor larger PDFs: pdftoppm reads them from stdin, which it keeps in memory whole. */
const MAX_PDF_BYTES = 128 * 1024 * 1024;
const PREVIEW_EDGE = 320;

/** Keep libvips from caching decoded images between jobs: memory stays flat. */
sharp.cache(false);

type Made = Omit<FileFacts, 'preview'> & { thumbnail: Buffer | null };

/**
 * Makes previews after upload, one file at a time, off the request path: dimensions and a WebP
 * thumbnail of images (sharp); the first page of PDFs (pdftoppm) and duration and poster frame of
 * audio and video (ffmpeg) when those tools were found at start. The facts are recorded on the
 * file row; a file the tools cannot read just gets none.
 */
export class PreviewWorker {
  private readonly pending: FileRow[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly blobs: BlobStore,
    private readonly tools: PreviewTools,
    private readonly log: Logger,
  ) {}

  enqueue(file: FileRow): void {
    if (!this.canPreview(file)) return;
    this.pending.push(file);
    this.running ??= this.drain();
  }

  /** Resolves when every queued preview is done (for shutdown). */
  async idle(): Promise<void> {
    await this.running;
  }

  private canPreview(file: FileRow): boolean {
    if (file.mime.startsWith('image/')) return Number(file.size) <= MAX_IMAGE_BYTES;
    if (file.mime === 'application/pdf') return this.tools.pdftoppm && Number(file.size) <= MAX_PDF_BYTES;
    return (file.mime.startsWith('video/') || file.mime.startsWith('audio/')) && this.tools.ffmpeg;
  }

  private async drain(): Promise<void> {
    for (let file = this.pending.shift(); file; file = this.pending.shift()) {
      try {
        await this.record(file, await this.make(file));
      } catch (err) {
        this.log.warn({ fileId: file.id, mime: file.mime, err: (err as Error).message }, 'no preview for this file');
      }
    }
    this.running = undefined;
  }

  /** Images and PDFs are decoded from a stream in memory; only audio and video need a (private, temporary) copy. */
  private async make(file: FileRow): Promise<Made> {
    const read = () => this.blobs.open(placeOf(file), file.sha256);
    if (file.mime.startsWith('image/')) {
      const meta = await (await read()).pipe(sharp()).metadata();
      // EXIF orientations 5–8 turn the picture a quarter: what people see is the other way round.
      const turned = (meta.orientation ?? 1) >= 5;
      const thumbnail = await (await read()).pipe(thumbnailer()).toBuffer();
      return { width: (turned ? meta.height : meta.width) ?? null, height: (turned ? meta.width : meta.height) ?? null, durationMs: null, thumbnail };
    }
    if (file.mime === 'application/pdf') {
      return { width: null, height: null, durationMs: null, thumbnail: await thumbnailOf(await pdfFirstPage(await read(), PREVIEW_EDGE * 2)) };
    }
    return withLocalCopy(read, async (path) => {
      const media = await mediaFacts(path);
      const thumbnail = media.hasVideo ? await thumbnailOf(await posterFrame(path)) : null;
      return { width: media.width, height: media.height, durationMs: media.durationMs, thumbnail };
    });
  }

  private async record(file: FileRow, made: Made): Promise<void> {
    const { thumbnail, ...facts } = made;
    const stored = thumbnail ? await this.blobs.put(placeOf(file), [thumbnail], thumbnail.byteLength) : null;
    const preview = stored && { sha256: stored.address, size: stored.size };
    await this.deps.queue.run(async (tx) => {
      if (await tx.files.byId(file.id)) await tx.files.recordFacts(file.id, { ...facts, preview });
      else if (preview && !(await tx.files.references(preview.sha256))) await this.blobs.delete(preview.sha256);
      return { result: undefined };
    });
  }
}

/** A WebP thumbnail of an image given as bytes, or (without them) of what is piped in. */
const thumbnailer = (image?: Buffer) =>
  (image ? sharp(image) : sharp()).rotate().resize(PREVIEW_EDGE, PREVIEW_EDGE, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 75 });

const thumbnailOf = (png: Buffer) => thumbnailer(png).toBuffer();
