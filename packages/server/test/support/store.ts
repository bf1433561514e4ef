import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openSqliteStore } from '../../src/store/sqlite-provider.js';
import type { StoreProvider } from '../../src/store/store.js';
import { testDatabaseUrl } from '../../src/testing.js';

/**
 * A store opened in this process, for tests of the layers right above it: a fresh SQLite file,
 * or (when the run names a PostgreSQL) a fresh schema there, dropped by `close`.
 */
export async function openTestStore(): Promise<{ store: StoreProvider; close(): Promise<void> }> {
  const url = testDatabaseUrl();
  if (!url) {
    const store = await openSqliteStore(join(mkdtempSync(join(tmpdir(), 'sotong-store-')), 'sotong.sqlite'), 'NORMAL');
    return { store, close: () => store.close() };
  }
  const prefix = /^t_[a-z0-9_]{0,30}$/.test(process.env.SOTONG_TEST_SCHEMA_PREFIX ?? '') ? process.env.SOTONG_TEST_SCHEMA_PREFIX! : 't_';
  const schema = `${prefix}${randomBytes(6).toString('hex')}`;
  const { openPostgresStore } = await import('../../src/store/postgres-provider.js');
  const store = await openPostgresStore({ url, schema, poolSize: 4, statementTimeoutMs: 15_000, applicationName: 'sotong-test' });
  return {
    store,
    async close() {
      await store.close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`).finally(() => client.end());
    },
  };
}
