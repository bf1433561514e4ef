import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { directorySettings } from './directory/settings.js';
import { samlSetting } from './sso/saml-settings.js';

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
/** MIME patterns (`image/*`, `application/pdf`), comma-separated in the environment. */
const mimePatterns = z
  .union([z.string(), z.array(z.string())])
  .default([])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((p) => p.trim().toLowerCase()).filter((p) => p.length > 0))
  .pipe(z.array(z.string().regex(/^[a-z0-9.+-]+\/([a-z0-9.+-]+|\*)$/, 'a MIME type or type/*')));

/** true/false (or 1/0, yes/no, on/off) in the environment, a boolean in a config file. */
const flag = (fallback: boolean) =>
  z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])])
    .default(fallback)
    .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 'on');
/** A listening port, or unset for a listener that is off; 0 picks a free port. */
const optionalPort = z.coerce.number().int().min(0).max(65535).optional();

/** Every setting, its environment variable and its default. Unknown keys in a config file are refused. */
const settings = {
  host: { env: 'HOST', schema: z.string().min(1).default('0.0.0.0') },
  port: { env: 'PORT', schema: z.coerce.number().int().min(0).max(65535).default(8080) },
  publicUrl: { env: 'PUBLIC_URL', schema: z.url().optional() },
  dataDir: { env: 'DATA_DIR', schema: z.string().min(1).default('./data') },
  databaseUrl: { env: 'DATABASE_URL', schema: z.string().optional() },
  busUrl: { env: 'BUS_URL', schema: z.string().regex(/^nats:\/\//, 'a nats:// URL').optional() },
  busPrefix: { env: 'SOTONG_BUS_PREFIX', schema: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -').default('sotong') },
  sqliteSynchronous: { env: 'SOTONG_SQLITE_SYNCHRONOUS', schema: z.enum(['FULL', 'NORMAL']).default('FULL') },
  pgPoolSize: { env: 'SOTONG_PG_POOL_SIZE', schema: int(1, 10) },
  /** 0 turns the limit off. Migrations run without it. */
  pgStatementTimeoutMs: { env: 'SOTONG_PG_STATEMENT_TIMEOUT_MS', schema: int(0, 15_000) },
  pgSchema: {
    env: 'SOTONG_PG_SCHEMA',
    schema: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case identifier: letters, digits and _, at most 63')
      .optional(),
  },
  pgApplicationName: { env: 'SOTONG_PG_APPLICATION_NAME', schema: z.string().min(1).max(63).default('sotong') },
  logLevel: { env: 'LOG_LEVEL', schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') },
  adminEmail: { env: 'SOTONG_ADMIN_EMAIL', schema: z.email().default('admin@sotong.local') },
  adminPassword: { env: 'SOTONG_ADMIN_PASSWORD', schema: z.string().min(12).optional() },
  workspaceName: { env: 'SOTONG_WORKSPACE_NAME', schema: z.string().min(1).default('Sotong') },
  scryptCost: {
    env: 'SOTONG_SCRYPT_COST',
    schema: z.coerce
      .number()
      .int()
      .min(1024)
      .refine((n) => (n & (n - 1)) === 0, 'must be a power of two')
      .default(32768),
  },
  accessTokenTtlSeconds: { env: 'SOTONG_ACCESS_TOKEN_TTL_SECONDS', schema: int(2, 15 * 60) },
  deviceCredentialTtlDays: { env: 'SOTONG_DEVICE_CREDENTIAL_TTL_DAYS', schema: int(1, 90) },
  deviceProofMaxSkewSeconds: { env: 'SOTONG_DEVICE_PROOF_MAX_SKEW_SECONDS', schema: int(1, 60) },
  passwordMinLength: { env: 'SOTONG_PASSWORD_MIN_LENGTH', schema: int(8, 12) },
  loginMaxFailures: { env: 'SOTONG_LOGIN_MAX_FAILURES', schema: int(1, 5) },
  loginAddressMaxFailures: { env: 'SOTONG_LOGIN_ADDRESS_MAX_FAILURES', schema: int(1, 50) },
  loginWindowMs: { env: 'SOTONG_LOGIN_WINDOW_MS', schema: int(1000, 15 * 60_000) },
  loginLockoutMs: { env: 'SOTONG_LOGIN_LOCKOUT_MS', schema: int(1000, 15 * 60_000) },
  maxFrameBytes: { env: 'SOTONG_MAX_FRAME_BYTES', schema: int(1024, 64 * 1024) },
  maxMessageChars: { env: 'SOTONG_MAX_MESSAGE_CHARS', schema: int(1, 40_000) },
  outboundQueueBytes: { env: 'SOTONG_OUTBOUND_QUEUE_BYTES', schema: int(64 * 1024, 4 * 1024 * 1024) },
  commandsPerSecond: { env: 'SOTONG_COMMANDS_PER_SECOND', schema: int(1, 50) },
  commandBurst: { env: 'SOTONG_COMMAND_BURST', schema: int(1, 200) },
  authTimeoutMs: { env: 'SOTONG_AUTH_TIMEOUT_MS', schema: int(100, 10_000) },
  heartbeatMs: { env: 'SOTONG_HEARTBEAT_MS', schema: int(1000, 30_000) },
  catchUpEventsPerChannel: { env: 'SOTONG_CATCHUP_EVENTS_PER_CHANNEL', schema: int(1, 500) },
  commitBatchMax: { env: 'SOTONG_COMMIT_BATCH_MAX', schema: int(1, 512) },
  /** How often new messages move from the pending list into the search index (a search moves them first anyway). */
  searchIndexIntervalMs: { env: 'SOTONG_SEARCH_INDEX_INTERVAL_MS', schema: int(10, 250) },
  maxFileBytes: { env: 'SOTONG_MAX_FILE_BYTES', schema: int(1, 1024 ** 3) },
  /** 0: no quota. */
  fileQuotaUserBytes: { env: 'SOTONG_FILE_QUOTA_USER_BYTES', schema: int(0, 0) },
  fileQuotaWorkspaceBytes: { env: 'SOTONG_FILE_QUOTA_WORKSPACE_BYTES', schema: int(0, 0) },
  /** Empty: every type not blocked. */
  fileAllowedTypes: { env: 'SOTONG_FILE_ALLOWED_TYPES', schema: mimePatterns },
  fileBlockedTypes: { env: 'SOTONG_FILE_BLOCKED_TYPES', schema: mimePatterns },
  ...directorySettings,
  tlsCertFile: { env: 'SOTONG_TLS_CERT', schema: z.string().min(1).optional() },
  tlsKeyFile: { env: 'SOTONG_TLS_KEY', schema: z.string().min(1).optional() },
  /** Development: make (once) a self-signed certificate under DATA_DIR/tls and use it. */
  tlsSelfSigned: { env: 'SOTONG_TLS_SELF_SIGNED', schema: flag(false) },
  hstsMaxAgeSeconds: { env: 'SOTONG_HSTS_MAX_AGE_SECONDS', schema: int(0, 365 * 24 * 3600) },
  /** Off answers every WebSocket upgrade at /ws with 403, as a proxy that blocks WebSockets would. */
  websocketEnabled: { env: 'SOTONG_WEBSOCKET_ENABLED', schema: flag(true) },
  tcpPort: { env: 'SOTONG_TCP_PORT', schema: optionalPort },
  mqttPort: { env: 'SOTONG_MQTT_PORT', schema: optionalPort },
  mqttSessionExpirySeconds: { env: 'SOTONG_MQTT_SESSION_EXPIRY_SECONDS', schema: int(0, 24 * 3600) },
  longPollHoldMs: { env: 'SOTONG_LONGPOLL_HOLD_MS', schema: int(100, 25_000) },
  idleTimeoutMs: { env: 'SOTONG_IDLE_TIMEOUT_MS', schema: int(1000, 90_000) },
  maxConnectionsPerUser: { env: 'SOTONG_MAX_CONNECTIONS_PER_USER', schema: int(1, 20) },
  userCommandsPerSecond: { env: 'SOTONG_USER_COMMANDS_PER_SECOND', schema: int(1, 100) },
  userCommandBurst: { env: 'SOTONG_USER_COMMAND_BURST', schema: int(1, 400) },
  /** Encryption at rest (docs/encryption.md): content, edits, files and the search index sealed under KMS data keys. */
  atRest: { env: 'SOTONG_AT_REST', schema: flag(true) },
  keyProvider: { env: 'SOTONG_KEY_PROVIDER', schema: z.enum(['local', 'pkcs11']).default('local') },
  /** Base64 AES-256 keys, comma-separated, the last current; unset: a key file under DATA_DIR. */
  masterKey: { env: 'SOTONG_MASTER_KEY', schema: z.string().min(1).optional() },
  masterKeyFile: { env: 'SOTONG_MASTER_KEY_FILE', schema: z.string().min(1).optional() },
  pkcs11Library: { env: 'SOTONG_PKCS11_LIBRARY', schema: z.string().min(1).default('/usr/lib/softhsm/libsofthsm2.so') },
  pkcs11Token: { env: 'SOTONG_PKCS11_TOKEN', schema: z.string().min(1).default('sotong') },
  pkcs11Pin: { env: 'SOTONG_PKCS11_PIN', schema: z.string().min(1).optional() },
  pkcs11KeyLabel: { env: 'SOTONG_PKCS11_KEY_LABEL', schema: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . and -').default('sotong-cmk') },
  dataKeyLifetimeMs: { env: 'SOTONG_DATA_KEY_LIFETIME_MS', schema: int(1000, 24 * 3_600_000) },
  dataKeyMaxMessages: { env: 'SOTONG_DATA_KEY_MAX_MESSAGES', schema: int(1, 100_000) },
  dataKeyCacheSize: { env: 'SOTONG_DATA_KEY_CACHE_SIZE', schema: int(1, 10_000) },
  dataKeyCacheTtlMs: { env: 'SOTONG_DATA_KEY_CACHE_TTL_MS', schema: int(1000, 5 * 60_000) },
  /** How long cached keys keep working while the key provider is unreachable; then the server fails closed. */
  kmsOutageGraceMs: { env: 'SOTONG_KMS_OUTAGE_GRACE_MS', schema: int(0, 15 * 60_000) },
  /** SAML single sign-on (docs/identity.md); unset: off. */
  saml: { env: 'SOTONG_SAML', schema: samlSetting },
  /** How often the sweeper expires unsent files and unfinished uploads and removes unreferenced blobs. */
  fileSweepMs: { env: 'SOTONG_FILE_SWEEP_MS', schema: int(100, 10 * 60_000) },
  unsentFileTtlMs: { env: 'SOTONG_UNSENT_FILE_TTL_MS', schema: int(100, 24 * 3_600_000) },
  uploadTtlMs: { env: 'SOTONG_UPLOAD_TTL_MS', schema: int(100, 24 * 3_600_000) },
  /** Signs download links for <img>/<video>. Unset: a random key per process (links then work only on the node that issued them, until it restarts). */
  fileLinkKey: { env: 'SOTONG_FILE_LINK_KEY', schema: z.string().min(32, 'at least 32 characters').optional() },
  fileLinkTtlMs: { env: 'SOTONG_FILE_LINK_TTL_MS', schema: int(1000, 10 * 60_000) },
  /** Passkeys: the RP ID (a domain; the host of PUBLIC_URL, else localhost) and the origins a ceremony may come from. */
  webauthnRpId: { env: 'SOTONG_WEBAUTHN_RP_ID', schema: z.string().min(1).optional() },
  webauthnOrigins: {
    env: 'SOTONG_WEBAUTHN_ORIGINS',
    schema: z
      .union([z.string(), z.array(z.string())])
      .default([])
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((o) => o.trim()).filter((o) => o.length > 0))
      .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin: scheme://host[:port], no path'))),
  },
  /** Unset: blobs on disk under DATA_DIR/blobs. */
  blobUrl: { env: 'BLOB_URL', schema: z.string().regex(/^s3:\/\//, 'an s3:// URL').optional() },
  /** The built web client; default: packages/web/dist/app next to this server. */
  webDir: { env: 'SOTONG_WEB_DIR', schema: z.string().min(1).optional() },
} as const;

type Settings = typeof settings;

/** Which store DATABASE_URL chose: by its scheme; no DATABASE_URL means SQLite under DATA_DIR. */
export type StoreConfig = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

export type Config = { [K in keyof Settings]: z.output<Settings[K]['schema']> } & {
  store: StoreConfig;
  /** Where the SQLite file is (or would be); used only when `store.kind` is `sqlite`. */
  sqliteFile: string;
};

export class ConfigError extends Error {}

/** Reads the optional JSON config file, then the environment (which wins), and validates all of it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, file = env.SOTONG_CONFIG): Config {
  const fromFile: Record<string, unknown> = file ? readConfigFile(file) : {};
  const unknown = Object.keys(fromFile).filter((k) => !(k in settings));
  if (unknown.length > 0) throw new ConfigError(`unknown setting(s) in ${file}: ${unknown.join(', ')}`);

  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [key, { env: name, schema }] of Object.entries(settings)) {
    const raw = env[name] !== undefined && env[name] !== '' ? env[name] : fromFile[key];
    const parsed = (schema as z.ZodType).safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else problems.push(`${name} (${key}): ${parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  const config = values as Omit<Config, 'sqliteFile' | 'store'>;
  const url = config.databaseUrl;
  const sqliteFile = url && /^(sqlite|file):/.test(url) ? resolve(url.replace(/^(sqlite|file):(\/\/)?/, '')) : resolve(config.dataDir, 'sotong.sqlite');
  if (url && /^postgres(ql)?:\/\//.test(url)) {
    if (!URL.canParse(url)) throw new ConfigError(`DATABASE_URL (databaseUrl): not a valid URL: ${redactUrl(url)}`);
    return { ...config, sqliteFile, store: { kind: 'postgres', url } };
  }
  if (url && !/^(sqlite|file):/.test(url)) {
    throw new ConfigError(`DATABASE_URL (databaseUrl): unsupported scheme in ${redactUrl(url)}; this build supports sqlite: and postgres://`);
  }
  return { ...config, sqliteFile, store: { kind: 'sqlite', file: sqliteFile } };
}

function readConfigFile(file: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
}

/** A URL fit for an error message or a log line: no password, in the user part or as a parameter. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}
