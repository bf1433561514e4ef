import { Worker } from 'node:worker_threads';

/** 64 MiB of 4 KiB pages: the writer's own checkpoint, so the log stays bounded under steady writes. */
export const LOG_LIMIT_PAGES = 16_384;

export interface CheckpointerOptions {
  file: string;
  intervalMs: number;
}

/**
 * Copies SQLite's write-ahead log into the database file from a worker thread.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 pages, on the writer
 * connection — here the event loop — and includes two fsyncs (the log, then the database file):
 * a stall of every socket every few commits. This worker's own connection checkpoints instead,
 * every `intervalMs`, without waiting for anyone (PASSIVE); SQLite's locks keep it and the writer
 * apart. Under steady writes the worker may never have copied the whole log at the moment a
 * writer starts, and only then can the log be reset: the writer keeps its own automatic
 * checkpoint at a much larger size (`LOG_LIMIT_PAGES`), which bounds the log and then finds
 * next to nothing left to copy.
 */
export class WalCheckpointer {
  private readonly worker: Worker;

  constructor(options: CheckpointerOptions, onError: (message: string) => void) {
    this.worker = new Worker(new URL('./wal-checkpoint-worker.js', import.meta.url), { workerData: options });
    this.worker.on('message', (m: { error?: string }) => m.error && onError(m.error));
    this.worker.on('error', (err) => onError(err.message));
    this.worker.unref();
  }

  /** Stops after the checkpoint under way, if any; the writer's close then checkpoints the rest. */
  async stop(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      this.worker.on('message', (m: { stopped?: boolean }) => m.stopped && resolve());
      this.worker.once('exit', () => resolve());
    });
    // Kept alive until it has answered, even when nothing else holds the process open.
    this.worker.ref();
    this.worker.postMessage('stop');
    await stopped;
    await this.worker.terminate();
  }
}
