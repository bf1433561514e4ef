import { CompiledQuery, sql, type Kysely } from 'kysely';
import { Migrator, type MigrationProvider } from 'kysely/migration';
import { ChannelStore } from './channels.js';
import { DirectoryStore } from './directory.js';
import { DataKeyStore } from './data-keys.js';
import { DeviceStore } from './devices.js';
import { EventStore } from './events.js';
import { FileStore } from './files.js';
import { MessageStore } from './messages.js';
import { MfaStore } from './mfa.js';
import { MqttSessionStore } from './mqtt-sessions.js';
import { NotificationPrefStore } from './notification-prefs.js';
import { PasskeyStore } from './passkeys.js';
import { SecurityStore } from './security.js';
import { SsoStore } from './sso.js';
import { SystemAdminStore } from './system-admins.js';
import { migrations, type Dialect } from './migrations.js';
import type { Database } from './schema.js';
import { CompiledQueries } from './compiled.js';
import type { SearchIndex } from './search.js';
import { UserStore } from './users.js';

/** Every query the services may run, over one executor (the read pool or one transaction). */
export interface Store {
  users: UserStore;
  channels: ChannelStore;
  messages: MessageStore;
  events: EventStore;
  security: SecurityStore;
  mfa: MfaStore;
  devices: DeviceStore;
  sso: SsoStore;
  passkeys: PasskeyStore;
  systemAdmins: SystemAdminStore;
  files: FileStore;
  directory: DirectoryStore;
  dataKeys: DataKeyStore;
  mqttSessions: MqttSessionStore;
  notificationPrefs: NotificationPrefStore;
  search: SearchIndex;
  /** Runs `work` in a savepoint of the current transaction: if it throws, its writes are undone. */
  withSavepoint<T>(work: () => Promise<T>): Promise<T>;
}

export interface StoreProvider {
  readonly dialect: Dialect;
  /** Reads of committed data, outside any write transaction. */
  readonly read: Store;
  /** Resolves once `work` has committed; the commit may not be on stable storage yet (see `synced`). */
  transaction<T>(work: (tx: Store) => Promise<T>): Promise<T>;
  /** Resolves once every transaction committed before the call is durable: only then may it be acknowledged. */
  synced(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

const SAVEPOINT = CompiledQuery.raw('savepoint write_op');
const RELEASE = CompiledQuery.raw('release savepoint write_op');
const ROLLBACK_TO = CompiledQuery.raw('rollback to savepoint write_op');

export type SearchFactory = (db: Kysely<Database>, compiled: CompiledQueries) => SearchIndex;

export function storeOver(db: Kysely<Database>, search: SearchFactory, compiled: CompiledQueries): Store {
  return {
    users: new UserStore(db),
    channels: new ChannelStore(db, compiled),
    messages: new MessageStore(db, compiled),
    events: new EventStore(db, compiled),
    security: new SecurityStore(db),
    mfa: new MfaStore(db),
    devices: new DeviceStore(db, compiled),
    sso: new SsoStore(db),
    passkeys: new PasskeyStore(db),
    systemAdmins: new SystemAdminStore(db),
    files: new FileStore(db),
    directory: new DirectoryStore(db),
    dataKeys: new DataKeyStore(db),
    mqttSessions: new MqttSessionStore(db),
    notificationPrefs: new NotificationPrefStore(db),
    search: search(db, compiled),
    async withSavepoint<T>(work: () => Promise<T>): Promise<T> {
      await db.executeQuery(SAVEPOINT);
      try {
        const result = await work();
        await db.executeQuery(RELEASE);
        return result;
      } catch (err) {
        await db.executeQuery(ROLLBACK_TO);
        await db.executeQuery(RELEASE);
        throw err;
      }
    },
  };
}

/**
 * `schema`: where the migration bookkeeping lives (PostgreSQL). Kysely looks for its tables in
 * every schema unless told which, so a database holding several Sotong schemas needs it.
 */
export async function migrate(db: Kysely<Database>, dialect: Dialect, schema?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  let { error, results } = await migrator.migrateToLatest();
  // Kysely's table lookup reads every schema of the database; one dropped meanwhile (another
  // deployment's, or a finished test's) fails it with invalid_schema_name before or instead of
  // anything being migrated (PostgreSQL migrates in one transaction). Looking again is the fix.
  for (let tries = 1; tries < 5 && (error as { code?: unknown } | undefined)?.code === '3F000'; tries++) {
    ({ error, results } = await migrator.migrateToLatest());
  }
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
  }
}

export async function pingDb(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}
