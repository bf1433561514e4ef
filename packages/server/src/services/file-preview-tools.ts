import { execFile } from 'node:child_process';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
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

/** Runs a tool, feeding `stdin` (if given) through a pipe: the bytes never touch the disk. */
function run(command: string, args: string[], stdin?: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { encoding: 'buffer', timeout: TOOL_TIMEOUT_MS, maxBuffer: MAX_TOOL_OUTPUT }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    if (!stdin) return;
    // A tool that has read enough closes its end early: not an error of ours.
    child.stdin?.on('error', () => {});
    stdin.on('error', (err) => {
      child.kill();
      reject(err);
    });
    stdin.pipe(child.stdin!);
  });
}

const present = (command: string, flag: string) => run(command, [flag]).then(() => true, () => false);

export async function detectPreviewTools(): Promise<PreviewTools> {
  const [pdftoppm, ffmpeg, ffprobe] = await Promise.all([present('pdftoppm', '-v'), present('ffmpeg', '-version'), present('ffprobe', '-version')]);
  return { pdftoppm, ffmpeg: ffmpeg && ffprobe };
}

/** Memory-backed where the system has it (Linux), so a temporary copy is never written to a disk. */
const MEMORY_TMP = '/dev/shm';

/** Where a temporary copy may go, best first: memory, then the OS temp folder (for what memory has no room for). */
async function tempRoots(): Promise<string[]> {
  try {
    await access(MEMORY_TMP, constants.W_OK);
    return [MEMORY_TMP, tmpdir()];
  } catch {
    return [tmpdir()];
  }
}

/**
 * ffmpeg and ffprobe must seek in most containers (an MP4's index is often at its end), which a
 * pipe cannot do: the plaintext from `open` is copied for the duration of `work` into a directory
 * only this user can open (mode 0700), in memory (`/dev/shm`) where there is one and it has room,
 * and removed right after.
 */
export async function withLocalCopy<T>(open: () => Promise<Readable>, work: (path: string) => Promise<T>): Promise<T> {
  const roots = await tempRoots();
  for (const [i, root] of roots.entries()) {
    const dir = await mkdtemp(join(root, 'sotong-preview-'));
    try {
      const path = join(dir, 'input');
      try {
        await pipeline(await open(), createWriteStream(path, { mode: 0o600 }));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC' && i < roots.length - 1) continue;
        throw err;
      }
      return await work(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  throw new Error('no temporary folder for a preview copy');
}

/** The first page of a PDF as PNG, about `edge` pixels on its long side; pdftoppm reads it from stdin (`-`) and keeps it in memory. */
export function pdfFirstPage(pdf: Readable, edge: number): Promise<Buffer> {
  return run('pdftoppm', ['-png', '-f', '1', '-l', '1', '-scale-to', String(edge), '-singlefile', '-'], pdf);
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
