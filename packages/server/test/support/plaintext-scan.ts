import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SpawnedServer } from './fixtures.js';
import { queryStore } from './postgres.js';

/** Every file under `dir`, recursively. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Every table of the server's PostgreSQL schema, as text (bytea as hex), holding `needle`. */
export function postgresHolders(server: SpawnedServer, needle: string): Promise<string[]> {
  return queryStore(server, async (db) => {
    const { rows: tables } = await db.query<{ name: string }>(`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`);
    const found: string[] = [];
    for (const { name } of tables) {
      const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from ${name} t where t::text like $1 or t::text like $2`, [`%${needle}%`, `%${Buffer.from(needle).toString('hex')}%`]);
      if (rows[0]!.n > 0) found.push(name);
    }
    return found;
  });
}
