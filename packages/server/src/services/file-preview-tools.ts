import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Optional system tools for previews, found once at start (Debian: poppler-utils, ffmpeg). */
export interface PreviewTools {
  pdftoppm: boolean;
  /** ffmpeg and ffprobe both. */
  ffmpeg: boolean;
}

const TOOL_TIMEOUT_MS = 60_000;
/** A rendered page or frame as PNG; far more than a preview-sized image needs. */
const MAX_TOOL_OUTPUT = 64 * 1024 * 1024;

function run(command: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'buffer', timeout: TOOL_TIMEOUT_MS, maxBuffer: MAX_TOOL_OUTPUT }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

const present = (command: string, flag: string) => run(command, [flag]).then(() => true, () => false);

export async function detectPreviewTools(): Promise<PreviewTools> {
  const [pdftoppm, ffmpeg, ffprobe] = await Promise.all([present('pdftoppm', '-v'), present('ffmpeg', '-version'), present('ffprobe', '-version')]);
  return { pdftoppm, ffmpeg: ffmpeg && ffprobe };
}

/** The tools read files, not streams: the blob is copied to a private temp file for the duration of `work`. */
export async function withLocalCopy<T>(source: Readable, work: (path: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'sotong-preview-'));
  try {
    const path = join(dir, 'input');
    await pipeline(source, createWriteStream(path, { mode: 0o600 }));
    return await work(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The first page of a PDF as PNG, about `edge` pixels on its long side. */
export function pdfFirstPage(path: string, edge: number): Promise<Buffer> {
  return run('pdftoppm', ['-png', '-f', '1', '-l', '1', '-scale-to', String(edge), '-singlefile', path]);
}

export interface MediaFacts {
  durationMs: number | null;
  width: number | null;
  height: number | null;
  hasVideo: boolean;
}

export async function mediaFacts(path: string): Promise<MediaFacts> {
  const json = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,width,height:format=duration', '-of', 'json', path]);
  const probe = JSON.parse(json.toString('utf8')) as {
    streams?: { codec_type?: string; width?: number; height?: number }[];
    format?: { duration?: string };
  };
  const video = probe.streams?.find((s) => s.codec_type === 'video');
  const seconds = Number(probe.format?.duration);
  return {
    durationMs: Number.isFinite(seconds) ? Math.round(seconds * 1000) : null,
    width: video?.width ?? null,
    height: video?.height ?? null,
    hasVideo: video !== undefined,
  };
}

/** The first frame of a video as PNG. */
export function posterFrame(path: string): Promise<Buffer> {
  return run('ffmpeg', ['-v', 'error', '-i', path, '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-']);
}
