import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { CompiledQueries } from './compiled.js';
import { openPostgres, prepareSchema, type PostgresOptions } from './postgres.js';
import { PostgresSearchIndex } from './postgres-search.js';
import { migrate, pingDb, storeOver, type SearchFactory, type Store, type StoreProvider } from './store.js';

/** serialization_failure and deadlock_detected: the transaction did nothing; running it again is the fix. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 5;

export function isRetryable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (RETRYABLE.has((e as { code?: unknown }).code as string)) return true;
  }
  return false;
}

/**
 * The pool serves `read` (each query on any free connection, so it sees committed data only) and
 * each `transaction` (one connection from BEGIN to COMMIT). Several nodes may write at once: the
 * per-channel seq is taken with `UPDATE channels … RETURNING` inside the transaction, whose row
 * lock orders writers to one channel, so seqs stay gap-free in commit order.
 *
 * A transaction that PostgreSQL aborts with a serialization failure or a deadlock is run again
 * from the start, a few times with a short jittered pause, so the services never see those.
 * Work functions only read and write through `tx`, so running one again is safe.
 */
export async function openPostgresStore(options: PostgresOptions, log?: Logger): Promise<StoreProvider> {
  const schema = await prepareSchema(options);
  // Migrations get their own connection with no statement timeout (a long migration is no stall).
  const migrator = openPostgres(options, { max: 1, statementTimeoutMs: 0 });
  try {
    await migrate(migrator, 'postgres', schema);
  } finally {
    await migrator.destroy();
  }
  const db = openPostgres({ ...options, onIdleError: (err) => log?.warn({ err }, 'idle PostgreSQL connection failed') });
  const compiled = new CompiledQueries();
  const search: SearchFactory = (exec, queries) => new PostgresSearchIndex(exec, queries);

  async function attempt<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    return db.transaction().execute(async (trx) => {
      const store = storeOver(trx, search, compiled);
      // A deadlock inside a savepoint is caught by the caller (the commit queue records it as that
      // write's error), but the other writes of the transaction may have been part of it too:
      // remember it and retry the whole transaction.
      let aborted: unknown;
      const tx: Store = {
        ...store,
        async withSavepoint<R>(inner: () => Promise<R>): Promise<R> {
          try {
            return await store.withSavepoint(inner);
          } catch (err) {
            if (isRetryable(err)) aborted ??= err;
            throw err;
          }
        },
      };
      const result = await work(tx);
      if (aborted !== undefined) throw aborted;
      return result;
    });
  }

  return {
    dialect: 'postgres',
    read: storeOver(db, search, compiled),
    async transaction<T>(work: (tx: Store) => Promise<T>): Promise<T> {
      for (let n = 1; ; n++) {
        try {
          return await attempt(work);
        } catch (err) {
          if (!isRetryable(err) || n >= MAX_ATTEMPTS) throw err;
          const pauseMs = Math.round(5 * 2 ** n * (0.5 + Math.random() / 2));
          log?.warn({ code: (err as { code?: string }).code, attempt: n, pauseMs }, 'transaction aborted by PostgreSQL; retrying');
          await sleep(pauseMs);
        }
      }
    },
    // PostgreSQL's COMMIT returns after its WAL flush (synchronous_commit on).
    synced: () => Promise.resolve(),
    ping: () => pingDb(db),
    close: () => db.destroy(),
  };
}
