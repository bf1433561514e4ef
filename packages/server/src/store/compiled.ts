import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';

const PARAM = Symbol('param');
type Placeholder = { [PARAM]: string };

function isPlaceholder(value: unknown): value is Placeholder {
  return typeof value === 'object' && value !== null && PARAM in value;
}

/** Stand-ins with the same keys as the real values, typed like them so the builder still checks columns. */
function placeholdersFor<P extends object>(values: P): P {
  return Object.fromEntries(Object.keys(values).map((name) => [name, { [PARAM]: name }])) as P;
}

/**
 * Kysely builds and compiles SQL on every call, which dominated the write path under load.
 * A hot query of fixed shape is compiled once, with placeholders, and re-run with new parameters.
 * One instance per store provider (per connection with `direct`), since the SQL is that provider's dialect. Only for shapes that
 * do not depend on the values (no `in` lists, the same keys every call).
 */
export class CompiledQueries {
  private readonly cache = new Map<string, { compiled: CompiledQuery<unknown>; names: (string | null)[] }>();

  /**
   * `direct` runs SQL on the connection behind the executor given to `run`, skipping Kysely's
   * asynchronous connection handling: for a synchronous driver (better-sqlite3) bound to one connection.
   */
  constructor(private readonly direct?: (sql: string, parameters: readonly unknown[]) => QueryResult<unknown>) {}

  async run<P extends object, R>(db: Kysely<any>, key: string, build: (p: P) => Compilable<R>, values: P): Promise<QueryResult<R>> {
    let entry = this.cache.get(key);
    if (!entry) {
      const compiled = build(placeholdersFor(values)).compile();
      // A parameter that is not a placeholder is a constant of the query itself.
      entry = { compiled, names: compiled.parameters.map((p) => (isPlaceholder(p) ? p[PARAM] : null)) };
      this.cache.set(key, entry);
    }
    const constants = entry.compiled.parameters;
    const parameters = entry.names.map((name, i) => (name === null ? constants[i] : (values as Record<string, unknown>)[name]));
    if (this.direct) return this.direct(entry.compiled.sql, parameters) as QueryResult<R>;
    return db.executeQuery({ ...entry.compiled, parameters } as CompiledQuery<R>);
  }
}
