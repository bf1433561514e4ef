import { open, type FileHandle } from 'node:fs/promises';

/**
 * Makes SQLite's write-ahead log durable off the main thread.
 *
 * With `synchronous=FULL` SQLite calls fsync inside COMMIT, and better-sqlite3 runs COMMIT on the
 * event loop: every group commit stalled all sockets for the length of an fsync. The writer
 * connection instead runs with `synchronous=NORMAL` (COMMIT writes the WAL frames to the page
 * cache, which a killed process does not lose) and this class fsyncs the WAL file in libuv's
 * thread pool. A write is acknowledged only after an fsync that began after its COMMIT, so an
 * acknowledged write survives power loss exactly as under FULL. (SQLite itself still syncs the
 * WAL before each checkpoint and its header when the log wraps, as NORMAL always does.)
 *
 * fsyncs are serial: callers that arrive while one is running share the next one.
 */
export class WalSync {
  private handle: FileHandle | undefined;
  private running: Promise<void> | undefined;
  private waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  private failure: unknown;

  constructor(private readonly walFile: string) {}

  /** Resolves once everything written to the WAL before this call is on stable storage. */
  synced(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      if (!this.running) this.running = this.drain();
    });
  }

  async close(): Promise<void> {
    await this.running;
    await this.handle?.close();
    this.handle = undefined;
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        this.handle ??= await open(this.walFile, 'r+');
        await this.handle.sync();
        for (const w of batch) w.resolve();
      } catch (err) {
        // After a failed fsync the kernel may have dropped the dirty pages: nothing written since
        // can be called durable. Refuse every later write rather than acknowledge a lost one.
        this.failure = err;
        for (const w of [...batch, ...this.waiting]) w.reject(err);
        this.waiting = [];
      }
    }
    this.running = undefined;
  }
}
