import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CompiledQueries } from './compiled.js';
import { SqliteSearchIndex } from './sqlite-search.js';
import { openSqlite } from './sqlite.js';
import { LOG_LIMIT_PAGES, WalCheckpointer } from './wal-checkpointer.js';
import { WalSync } from './wal-sync.js';
import { migrate, pingDb, storeOver, type SearchFactory, type Store, type StoreProvider } from './store.js';

const CHECKPOINT_INTERVAL_MS = 100;

/**
 * One writer connection (all writes go through the service's commit queue, one transaction at
 * a time) and one reader connection, so reads never see a batch that has not committed yet.
 *
 * FULL durability is kept by fsyncing the WAL off the main thread (wal-sync.ts) rather than by
 * SQLite inside COMMIT; NORMAL skips that fsync (a killed process loses nothing, power loss may).
 * For the same reason the log is checkpointed by a worker thread, not inside COMMIT.
 */
export async function openSqliteStore(file: string, synchronous: 'FULL' | 'NORMAL', onCheckpointError: (message: string) => void = () => {}): Promise<StoreProvider> {
  mkdirSync(dirname(file), { recursive: true });
  const writer = openSqlite({ file, synchronous: 'NORMAL', autocheckpointPages: LOG_LIMIT_PAGES });
  await migrate(writer.db, 'sqlite');
  const checkpointer = new WalCheckpointer({ file, intervalMs: CHECKPOINT_INTERVAL_MS }, onCheckpointError);
  const reader = openSqlite({ file, synchronous: 'NORMAL' });
  const wal = synchronous === 'FULL' ? new WalSync(`${file}-wal`) : undefined;
  const search: SearchFactory = (db, compiled) => new SqliteSearchIndex(db, compiled);
  // Hot queries run straight on each connection's prepared statements (synchronous driver).
  const writes = new CompiledQueries(writer.execute);
  const reads = new CompiledQueries(reader.execute);
  return {
    dialect: 'sqlite',
    read: storeOver(reader.db, search, reads),
    transaction: <T>(work: (tx: Store) => Promise<T>) => writer.db.transaction().execute((trx) => work(storeOver(trx, search, writes))),
    synced: () => wal?.synced() ?? Promise.resolve(),
    ping: () => pingDb(reader.db),
    async close() {
      await checkpointer.stop();
      await wal?.close();
      await reader.db.destroy();
      await writer.db.destroy();
    },
  };
}
