import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LoginResult, SessionGranted, User } from '@sotong/protocol';
import { deviceOf, rememberDevice, TestDevice } from './test-device.js';
import { SERVER_NODE_FLAGS } from './node-flags.js';

/**
 * Starts the real server as a child process on an ephemeral port with its own SQLite folder,
 * for integration tests and bench. Password hashing is cheap here; nothing else differs.
 *
 * With `SOTONG_TEST_DATABASE_URL=postgres://…` in the environment, the server uses that database
 * instead, in a fresh schema of its own (`t_<random>`), dropped by `stop()`. A second server can
 * share the first one's store: pass it `env: first.storeEnv`.
 */
export interface SpawnedServer {
  httpUrl: string;
  wsUrl: string;
  pid: number;
  /** The HTTP(S) port. */
  port: number;
  /** The raw TCP and MQTT listeners, when the environment turned them on (SOTONG_TCP_PORT / SOTONG_MQTT_PORT = 0). */
  tcpPort?: number;
  mqttPort?: number;
  /** With TLS on (e.g. SOTONG_TLS_SELF_SIGNED=true): the certificate, for clients to trust. */
  tls?: { ca: Buffer; fingerprint256: string };
  dataDir: string;
  store: 'sqlite' | 'postgres';
  /** The environment that points another process (a CLI command, a second node) at this server's store. */
  storeEnv: Record<string, string>;
  admin: { email: string; password: string };
  /** The server's stdout and stderr so far, for a failing test to print. */
  output(): string;
  /** A REST call; with a token from these helpers, its device proof is added. */
  request<T>(method: string, path: string, body?: unknown, token?: string): Promise<T>;
  /** Signs in from a new device and returns the access token (its device is remembered for `request` and sockets). */
  login(email: string, password: string): Promise<string>;
  /** Signs in from the given device and returns the whole answer (a session, a second step, or a pending device). */
  signIn(email: string, password: string, device: TestDevice): Promise<LoginResult>;
  createUser(email: string, displayName: string, password?: string, role?: 'admin' | 'member' | 'guest'): Promise<User>;
  /** A current access token of the admin: one device, renewed by its credential when it nears its end. */
  adminToken(): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  dataDir?: string;
  env?: Record<string, string>;
}

const CLI = fileURLToPath(new URL('./cli.js', import.meta.url));
export const TEST_PASSWORD = 'plum tree under the river 42';
const START_TIMEOUT_MS = 30_000;

const isPostgresUrl = (url: string) => /^postgres(ql)?:\/\//.test(url);

/** The PostgreSQL the tests run against, if the environment names one. */
export function testDatabaseUrl(): string | undefined {
  const url = process.env.SOTONG_TEST_DATABASE_URL;
  return url && isPostgresUrl(url) ? url : undefined;
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists ${schema} cascade`);
  } finally {
    await client.end();
  }
}

/** The headers that authorise a REST request with a token from these helpers: the bearer token and its device's proof. */
export function authHeaders(token: string, method: string, pathWithQuery: string): Record<string, string> {
  return deviceOf(token)?.requestHeaders(token, method, pathWithQuery) ?? { authorization: `Bearer ${token}` };
}

export async function spawnServer(options: SpawnOptions = {}): Promise<SpawnedServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'sotong-'));
  const explicitUrl = options.env?.DATABASE_URL;
  const pgUrl = explicitUrl !== undefined ? (isPostgresUrl(explicitUrl) ? explicitUrl : undefined) : testDatabaseUrl();
  // A schema named by the caller belongs to whoever made it; one made here is dropped on stop.
  // The test runner sets a prefix per run, so it can sweep what a crashed test left behind.
  const prefix = /^t_[a-z0-9_]{0,30}$/.test(process.env.SOTONG_TEST_SCHEMA_PREFIX ?? '') ? process.env.SOTONG_TEST_SCHEMA_PREFIX! : 't_';
  const ownSchema = pgUrl && !options.env?.SOTONG_PG_SCHEMA ? `${prefix}${randomBytes(6).toString('hex')}` : undefined;
  const storeEnv: Record<string, string> = pgUrl
    ? { DATABASE_URL: pgUrl, SOTONG_PG_SCHEMA: options.env?.SOTONG_PG_SCHEMA ?? ownSchema! }
    : { DATA_DIR: dataDir, ...(explicitUrl !== undefined ? { DATABASE_URL: explicitUrl } : {}) };
  // The master key is part of reading the store (encryption at rest): another node or a CLI
  // command on this store uses this server's key file.
  storeEnv.SOTONG_MASTER_KEY_FILE = options.env?.SOTONG_MASTER_KEY_FILE ?? join(dataDir, 'master.key');
  const admin = { email: 'admin@sotong.test', password: 'lantern over the quiet harbour' };
  let child: ChildProcess | undefined;
  let log = '';
  let adminSession: { granted: SessionGranted; device: TestDevice } | undefined;

  /** Port 0 picks a free port; a restart asks for the same one, so clients reconnect to the URL they had. */
  type Listening = { port: number; tcpPort?: number; mqttPort?: number; tls?: boolean };
  const start = (port: number) =>
    new Promise<{ child: ChildProcess } & Listening>((resolve, reject) => {
      const proc = spawn(process.execPath, [...SERVER_NODE_FLAGS, CLI, 'serve'], {
        env: {
          ...process.env,
          PORT: String(port),
          HOST: '127.0.0.1',
          DATA_DIR: dataDir,
          LOG_LEVEL: 'info',
          SOTONG_ADMIN_EMAIL: admin.email,
          SOTONG_ADMIN_PASSWORD: admin.password,
          SOTONG_SCRYPT_COST: '1024',
          ...storeEnv,
          ...options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`server did not log "listening" within ${START_TIMEOUT_MS} ms (LOG_LEVEL must allow info):\n${log}`));
      }, START_TIMEOUT_MS);
      proc.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        log += `${line}\n`;
        if (!line.includes('"msg":"listening"')) return;
        clearTimeout(timer);
        resolve({ child: proc, ...(JSON.parse(line) as Listening) });
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}) before listening:\n${log}`));
      });
    });

  const server: SpawnedServer = {
    httpUrl: '',
    wsUrl: '',
    pid: 0,
    port: 0,
    dataDir,
    store: pgUrl ? 'postgres' : 'sqlite',
    storeEnv,
    admin,
    output: () => log,
    async request<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
      const headers: Record<string, string> = {};
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (token) Object.assign(headers, authHeaders(token, method, path));
      const res = await requestJson(`${server.httpUrl}${path}`, method, headers, body === undefined ? undefined : JSON.stringify(body), server.tls?.ca);
      const json = res.json as T & { code?: string; message?: string };
      if (res.status >= 400) throw Object.assign(new Error(`${method} ${path}: ${res.status} ${json.code}: ${json.message}`), { status: res.status, body: json });
      return json;
    },
    async login(email, password) {
      const device = TestDevice.generate();
      const result = await server.signIn(email, password, device);
      if (!('token' in result)) throw new Error(`sign-in of ${email} did not end in a session: ${JSON.stringify(result)}`);
      rememberDevice(result.token, device);
      return result.token;
    },
    async signIn(email, password, device) {
      return server.request<LoginResult>('POST', '/api/v1/auth/login', { email, password, device: device.enrolment() });
    },
    async createUser(email, displayName, password = TEST_PASSWORD, role) {
      return server.request<User>('POST', '/api/v1/admin/users', { email, displayName, password, ...(role ? { role } : {}) }, await server.adminToken());
    },
    async adminToken() {
      if (!adminSession) {
        const device = TestDevice.generate();
        const granted = await server.signIn(admin.email, admin.password, device);
        if (!('token' in granted)) throw new Error(`the admin's sign-in did not end in a session: ${JSON.stringify(granted)}`);
        adminSession = { granted, device };
      } else if (adminSession.granted.expiresAt - Date.now() < 1000) {
        const { deviceId, credential } = adminSession.granted.device;
        adminSession.granted = await server.request<SessionGranted>('POST', '/api/v1/auth/refresh', adminSession.device.refreshBody(deviceId, credential));
      }
      rememberDevice(adminSession.granted.token, adminSession.device);
      return adminSession.granted.token;
    },
    async kill(signal = 'SIGKILL') {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill(signal);
      await exited;
    },
    async restart() {
      await server.kill('SIGKILL');
      await launch();
    },
    async stop() {
      await server.kill('SIGTERM');
      if (pgUrl && ownSchema) await dropSchema(pgUrl, ownSchema);
    },
  };

  let port = 0;
  async function launch() {
    const started = await start(port);
    port = started.port;
    child = started.child;
    server.pid = child.pid ?? 0;
    server.port = started.port;
    const secure = started.tls === true;
    server.httpUrl = `${secure ? 'https' : 'http'}://127.0.0.1:${started.port}`;
    server.wsUrl = `${secure ? 'wss' : 'ws'}://127.0.0.1:${started.port}/ws`;
    if (started.tcpPort !== undefined) server.tcpPort = started.tcpPort;
    if (started.mqttPort !== undefined) server.mqttPort = started.mqttPort;
    if (secure) {
      const { X509Certificate } = await import('node:crypto');
      const ca = readFileSync(options.env?.SOTONG_TLS_CERT ?? join(dataDir, 'tls', 'self-signed-cert.pem'));
      server.tls = { ca, fingerprint256: new X509Certificate(ca).fingerprint256 };
    }
  }

  await launch();
  return server;
}
/** One HTTP(S) request with a JSON answer; `ca` trusts a test server's self-signed certificate. */
function requestJson(url: string, method: string, headers: Record<string, string>, body: string | undefined, ca?: Buffer): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { method, headers, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} });
        } catch {
          reject(new Error(`${method} ${url}: ${res.statusCode} not JSON: ${text.slice(0, 200)}`));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export { totpCode } from './auth/totp.js';
export { TestDevice, deviceOf, rememberDevice } from './test-device.js';
