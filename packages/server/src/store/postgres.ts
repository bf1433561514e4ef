import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from './schema.js';

/**
 * BIGINT (int8: our epoch-millisecond times, seqs, `count(*)`) arrives from pg as a string, since
 * it may exceed 2^53. Ours never do (times and counters), and the store's types say `number`, as
 * SQLite gives them; a value that would lose precision is refused instead of rounded.
 */
function parseBigint(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} does not fit a JavaScript number`);
  return value;
}
pg.types.setTypeParser(pg.types.builtins.INT8, parseBigint);

export interface PostgresOptions {
  /** postgres://user:password@host:port/database (parameters in the URL win over the options below). */
  url: string;
  poolSize: number;
  /** Cancels a statement that runs longer than this; 0 turns the limit off. */
  statementTimeoutMs: number;
  applicationName: string;
  /** Put first (and alone) on the search_path; created if missing. Unset: the server's default path. */
  schema?: string;
  /** Errors of idle pooled connections (a restarted server, say); the pool replaces the connection. */
  onIdleError?: (err: Error) => void;
}

function poolConfig(options: PostgresOptions, max: number, statementTimeoutMs: number): pg.PoolConfig {
  return {
    connectionString: options.url,
    max,
    application_name: options.applicationName,
    ...(statementTimeoutMs > 0 ? { statement_timeout: statementTimeoutMs } : {}),
    // The schema name is a validated identifier (see config.ts), so it needs no quoting here.
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  };
}

/** A Kysely over a pg pool: queries take any free connection; a transaction holds one until it ends. */
export function openPostgres(options: PostgresOptions, overrides: { max?: number; statementTimeoutMs?: number } = {}): Kysely<Database> {
  const pool = new pg.Pool(poolConfig(options, overrides.max ?? options.poolSize, overrides.statementTimeoutMs ?? options.statementTimeoutMs));
  pool.on('error', (err) => options.onIdleError?.(err));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * Creates the configured schema if it is missing (two nodes may race to it: the loser finds it
 * made) and returns the schema the store's tables live in.
 */
export async function prepareSchema(options: PostgresOptions): Promise<string> {
  const client = new pg.Client({ ...poolConfig(options, 1, 0) });
  await client.connect();
  try {
    // Looked up first: `create schema if not exists` needs CREATE on the database even when the
    // schema is there, which an operator may rightly not grant.
    const { rowCount } = options.schema ? await client.query('select 1 from pg_namespace where nspname = $1', [options.schema]) : { rowCount: 1 };
    if (options.schema && rowCount === 0) {
      try {
        await client.query(`create schema if not exists ${options.schema}`);
      } catch (err) {
        // 23505/42P06: a concurrent `create schema` won the race; the schema is there.
        const code = (err as { code?: string }).code;
        if (code !== '23505' && code !== '42P06') throw err;
      }
    }
    const { rows } = await client.query<{ schema: string | null }>('select current_schema() as schema');
    const schema = rows[0]?.schema;
    if (!schema) throw new Error('no schema on the search_path exists: set SOTONG_PG_SCHEMA, or create one');
    return schema;
  } finally {
    await client.end();
  }
}
