import Sqlite from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointerOptions } from './wal-checkpointer.js';

/** The worker side of wal-checkpointer.ts: its own connection, checkpointing on a timer until told to stop. */
const { file, intervalMs, restartAtFrames } = workerData as CheckpointerOptions;
const db = new Sqlite(file);
// A RESTART waits for the writer to finish its transaction; never long, as writes are short.
db.pragma('busy_timeout = 5000');
let timer: NodeJS.Timeout | undefined;

function checkpoint(): void {
  try {
    const [passive] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
    // Under steady writes the log may never be fully copied at the moment a writer starts, and so
    // never be reset: past the limit, wait for a gap between transactions and restart it.
    if (passive && passive.log >= restartAtFrames) db.pragma('wal_checkpoint(RESTART)');
  } catch (err) {
    parentPort!.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
  timer = setTimeout(checkpoint, intervalMs);
}

parentPort!.on('message', (message: string) => {
  if (message !== 'stop') return;
  clearTimeout(timer);
  db.close();
  parentPort!.postMessage({ stopped: true });
});
checkpoint();
