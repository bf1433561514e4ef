import pg from 'pg';
import type { SpawnedServer } from '../../src/testing.js';

export { testDatabaseUrl } from '../../src/testing.js';

/** A client on the spawned server's PostgreSQL schema, for tests that look at the tables. */
export async function queryStore<T>(server: SpawnedServer, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const { DATABASE_URL: url, SOTONG_PG_SCHEMA: schema } = server.storeEnv;
  if (server.store !== 'postgres' || !url || !schema) throw new Error('this server does not run on PostgreSQL');
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
