import Sqlite from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointerOptions } from './wal-checkpointer.js';

/** The worker side of wal-checkpointer.ts: its own connection, checkpointing on a timer until told to stop. */
const { file, intervalMs } = workerData as CheckpointerOptions;
const db = new Sqlite(file);
let timer: NodeJS.Timeout | undefined;

function checkpoint(): void {
  try {
    // PASSIVE waits for no one: it copies what it can and leaves the rest for the next pass.
    db.pragma('wal_checkpoint(PASSIVE)');
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
