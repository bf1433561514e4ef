import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CompiledQueries } from './compiled.js';
import { SqliteSearchIndex } from './sqlite-search.js';
import { openSqlite } from './sqlite.js';
import { migrate, pingDb, storeOver, type SearchFactory, type Store, type StoreProvider } from './store.js';

/**
 * One writer connection (all writes go through the service's commit queue, one transaction at
 * a time) and one reader connection, so reads never see a batch that has not committed yet.
 */
export async function openSqliteStore(file: string, synchronous: 'FULL' | 'NORMAL'): Promise<StoreProvider> {
  mkdirSync(dirname(file), { recursive: true });
  const writer = openSqlite({ file, synchronous });
  await migrate(writer, 'sqlite');
  const reader = openSqlite({ file, synchronous });
  const search: SearchFactory = (db, compiled) => new SqliteSearchIndex(db, compiled);
  const compiled = new CompiledQueries();
  return {
    dialect: 'sqlite',
    read: storeOver(reader, search, compiled),
    transaction: <T>(work: (tx: Store) => Promise<T>) => writer.transaction().execute((trx) => work(storeOver(trx, search, compiled))),
    ping: () => pingDb(reader),
    async close() {
      await reader.destroy();
      await writer.destroy();
    },
  };
}
