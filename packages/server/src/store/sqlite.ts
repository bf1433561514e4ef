import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect, type QueryResult, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { Database } from './schema.js';

export interface SqliteOptions {
  file: string;
  /** FULL: an acknowledged write survives power loss, not only a crash. */
  synchronous: 'FULL' | 'NORMAL';
  readonly?: boolean;
  /** Log pages at which this connection checkpoints by itself (SQLite's default: 1,000). */
  autocheckpointPages?: number;
}

/**
 * better-sqlite3 prepares a statement on every call through Kysely; keeping the prepared
 * statements by SQL text saves that parse on the hot path (the set of query shapes is small).
 */
function withStatementCache(db: Sqlite.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => db.close(),
    prepare(sqlText: string): SqliteStatement {
      let stmt = cache.get(sqlText);
      if (!stmt) {
        stmt = db.prepare(sqlText) as unknown as SqliteStatement;
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
        cache.set(sqlText, stmt);
      }
      return stmt;
    },
  };
}

export interface SqliteConnection {
  db: Kysely<Database>;
  /** The same connection, for SQL that Kysely compiled once (see compiled.ts). */
  execute(sql: string, parameters: readonly unknown[]): QueryResult<unknown>;
}

export function openSqlite(options: SqliteOptions): SqliteConnection {
  const raw = new Sqlite(options.file, { readonly: options.readonly ?? false });
  if (!options.readonly) raw.pragma('journal_mode = WAL');
  raw.pragma(`synchronous = ${options.synchronous}`);
  if (options.autocheckpointPages !== undefined) raw.pragma(`wal_autocheckpoint = ${options.autocheckpointPages}`);
  raw.pragma('foreign_keys = ON');
  // Deleted messages are overwritten on disk, not merely unlinked from the b-tree.
  raw.pragma('secure_delete = ON');
  raw.pragma('busy_timeout = 5000');
  // Savepoint journals and sort space in memory, and a page cache that holds the hot indexes.
  raw.pragma('temp_store = MEMORY');
  raw.pragma('cache_size = -65536');
  const statements = withStatementCache(raw);
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) }),
    execute(sql, parameters) {
      const stmt = statements.prepare(sql);
      if (stmt.reader) return { rows: stmt.all(parameters) };
      const { changes } = stmt.run(parameters);
      return { rows: [], numAffectedRows: BigInt(changes) };
    },
  };
}
