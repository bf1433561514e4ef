import { Worker } from 'node:worker_threads';

export interface CheckpointerOptions {
  file: string;
  intervalMs: number;
  /** Log size (pages) past which the log is restarted, waiting briefly for the writer if need be. */
  restartAtFrames: number;
}

/**
 * Copies SQLite's write-ahead log into the database file from a worker thread.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 pages, on the writer
 * connection — here the event loop — and includes two fsyncs (the log, then the database file):
 * a stall of every socket every few commits. The writer turns that off (`wal_autocheckpoint=0`)
 * and this worker's own connection checkpoints instead; SQLite's locks keep the two apart.
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
