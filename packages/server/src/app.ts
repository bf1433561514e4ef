import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openBlobStore } from './blobs/open.js';
import { LocalBus } from './bus/local.js';
import type { Bus } from './bus/bus.js';
import { redactUrl, type Config } from './config.js';
import { createHttpServer } from './http/server.js';
import { DEFAULT_WEB_DIR } from './http/web.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { Hub } from './realtime/hub.js';
import { PresenceTracker } from './realtime/presence.js';
import { AccountService } from './services/accounts.js';
import { ChannelService } from './services/channels.js';
import { CommitQueue } from './services/commit-queue.js';
import { PreviewWorker } from './services/file-previews.js';
import { FileLinkSigner } from './services/file-links.js';
import { FileService } from './services/files.js';
import { detectPreviewTools } from './services/file-preview-tools.js';
import type { Services } from './services/dispatch.js';
import { MessageService } from './services/messages.js';
import { SearchIndexer } from './services/search-indexer.js';
import { SearchService } from './services/search.js';
import { SsoService } from './services/sso.js';
import { SamlServiceProvider } from './sso/saml-sp.js';
import { PasskeyService } from './services/passkeys.js';
import { Sweeper } from './services/sweeper.js';
import { openUploadStore } from './http/uploads.js';
import { openSqliteStore } from './store/sqlite-provider.js';
import type { StoreProvider } from './store/store.js';
import { attachWebSocket } from './transports/websocket.js';

/** The composition root: the only place that picks implementations (store, bus) from config. */
export interface Core {
  config: Config;
  log: Logger;
  metrics: Metrics;
  store: StoreProvider;
  bus: Bus;
  presence: PresenceTracker;
  services: Services;
  files: FileService;
  passkeys: PasskeyService;
  close(): Promise<void>;
}

/** The in-process bus by default; NATS when BUS_URL is set (a cluster of nodes). */
async function openBus(config: Config, log: Logger): Promise<Bus> {
  if (!config.busUrl) return new LocalBus();
  const { NatsBus } = await import('./bus/nats.js');
  return NatsBus.connect(config.busUrl, config.busPrefix, log);
}

export async function openCore(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Core> {
  const metrics = createMetrics();
  const store = await openStore(config, log);
  const bus = await openBus(config, log);
  const presence = new PresenceTracker(bus, config.heartbeatMs);
  const queue = new CommitQueue(store, bus, config.commitBatchMax, metrics, log);
  const deps = {
    store,
    queue,
    bus,
    presence,
    limits: {
      maxMessageChars: config.maxMessageChars,
      scryptCost: config.scryptCost,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      deviceCredentialTtlDays: config.deviceCredentialTtlDays,
      deviceProofMaxSkewSeconds: config.deviceProofMaxSkewSeconds,
      passwordMinLength: config.passwordMinLength,
      loginMaxFailures: config.loginMaxFailures,
      loginAddressMaxFailures: config.loginAddressMaxFailures,
      loginWindowMs: config.loginWindowMs,
      loginLockoutMs: config.loginLockoutMs,
    },
    now: Date.now,
  };
  const channels = new ChannelService(deps);
  const indexer = new SearchIndexer(deps, config.searchIndexIntervalMs, log);
  indexer.start();
  const accounts = new AccountService(deps);
  const passkeys = new PasskeyService(deps, accounts, {
    id: config.webauthnRpId ?? (config.publicUrl ? new URL(config.publicUrl).hostname : 'localhost'),
    name: config.workspaceName,
    origins: config.webauthnOrigins.length > 0 ? [...config.webauthnOrigins] : config.publicUrl ? [new URL(config.publicUrl).origin] : [],
  });
  const services: Services = {
    deps,
    accounts,
    channels,
    messages: new MessageService(deps),
    search: new SearchService(deps, channels, indexer),
  };
  const blobs = await openBlobStore(config, log);
  const files = new FileService(deps, blobs, {
    maxFileBytes: config.maxFileBytes,
    quotaUserBytes: config.fileQuotaUserBytes,
    quotaWorkspaceBytes: config.fileQuotaWorkspaceBytes,
    types: { allowed: config.fileAllowedTypes, blocked: config.fileBlockedTypes },
    unsentTtlMs: config.unsentFileTtlMs,
  }, new FileLinkSigner(config.fileLinkKey ? Buffer.from(config.fileLinkKey, 'utf8') : randomBytes(32), config.fileLinkTtlMs));
  const tools = await detectPreviewTools();
  log.info({ previewTools: tools }, tools.pdftoppm && tools.ffmpeg ? 'all preview tools found' : 'some preview tools missing (see docs/files.md)');
  const previews = new PreviewWorker(deps, blobs, tools, log);
  files.onUploaded((file) => previews.enqueue(file));
  return {
    config,
    log,
    metrics,
    store,
    bus,
    presence,
    services,
    files,
    passkeys,
    async close() {
      await previews.idle();
      await indexer.close();
      blobs.close?.();
      presence.close();
      await bus.close();
      await store.close();
    },
  };
}

/** SQLite in one file, or PostgreSQL for several nodes: chosen by DATABASE_URL's scheme (config.ts). */
async function openStore(config: Config, log: Logger): Promise<StoreProvider> {
  if (config.store.kind === 'sqlite') return openSqliteStore(config.store.file, config.sqliteSynchronous);
  log.info({ database: redactUrl(config.store.url), schema: config.pgSchema ?? null, poolSize: config.pgPoolSize }, 'opening PostgreSQL store');
  // Loaded only when chosen: a single-node SQLite server never loads the pg driver.
  const { openPostgresStore } = await import('./store/postgres-provider.js');
  return openPostgresStore(
    {
      url: config.store.url,
      poolSize: config.pgPoolSize,
      statementTimeoutMs: config.pgStatementTimeoutMs,
      applicationName: config.pgApplicationName,
      ...(config.pgSchema ? { schema: config.pgSchema } : {}),
    },
    log,
  );
}

export interface RunningServer {
  core: Core;
  url: string;
  port: number;
  /** Set on the first run: the workspace was created, with a generated admin password unless one was configured. */
  firstRun?: { password?: string };
  close(): Promise<void>;
}

export async function startServer(config: Config, log?: Logger): Promise<RunningServer> {
  const core = await openCore(config, log);
  const { metrics, services, store } = core;
  const boot = await services.accounts.bootstrap(config.workspaceName, config.adminEmail, config.adminPassword);
  const hub = new Hub(core.bus, metrics);
  core.presence.onChange((userId, status) => hub.pushPresence(userId, status));
  let sessions: ReturnType<typeof attachWebSocket>['sessions'] = new Set();
  // The SAML endpoints' URLs need the public URL, which (with PORT=0) is known only after listen.
  let url = config.publicUrl ?? '';
  const saml = config.saml && samlDeps(core, config.saml, () => url);
  const uploads = openUploadStore(join(config.dataDir, 'uploads'), config.uploadTtlMs);
  const sweeper = new Sweeper(
    config.fileSweepMs,
    [
      { name: 'files', run: () => core.files.sweep() },
      { name: 'uploads', run: async () => ({ expiredUploads: await uploads.deleteExpired() }) },
    ],
    core.log,
  );
  const http = await createHttpServer({
    services,
    files: core.files,
    passkeys: core.passkeys,
    uploads: { datastore: uploads, maxFileBytes: config.maxFileBytes },
    store,
    metrics,
    log: core.log,
    webDir: config.webDir ?? DEFAULT_WEB_DIR,
    // A REST body carries at most one message's worth of arguments.
    bodyLimit: Math.max(config.maxFrameBytes, config.maxMessageChars * 4 + 4096),
    ...(saml ? { saml } : {}),
    beforeScrape: () => {
      let queued = 0;
      for (const session of sessions) queued += session.queuedBytes();
      metrics.outboundQueueBytes.set(queued);
    },
  });
  const ws = attachWebSocket(http.server, {
    services,
    hub,
    presence: core.presence,
    metrics,
    log: core.log,
    limits: {
      maxFrameBytes: config.maxFrameBytes,
      outboundQueueBytes: config.outboundQueueBytes,
      commandsPerSecond: config.commandsPerSecond,
      commandBurst: config.commandBurst,
      authTimeoutMs: config.authTimeoutMs,
      heartbeatMs: config.heartbeatMs,
      catchUpEventsPerChannel: config.catchUpEventsPerChannel,
    },
  });
  sessions = ws.sessions;
  await http.listen({ host: config.host, port: config.port });
  sweeper.start();
  const port = (http.server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  url = config.publicUrl ?? `http://${host}:${port}`;
  // Without PUBLIC_URL or SOTONG_WEBAUTHN_ORIGINS, passkeys work from this server's own address on localhost (a secure context).
  if (core.passkeys.rp.origins.length === 0) core.passkeys.rp.origins.push(`http://localhost:${port}`, new URL(url).origin);
  core.log.info({ url, port, store: store.dialect }, 'listening');
  return {
    core,
    url,
    port,
    ...(boot.created ? { firstRun: boot.password ? { password: boot.password } : {} } : {}),
    async close() {
      await sweeper.stop();
      await ws.close();
      await http.close();
      hub.close();
      await core.close();
    },
  };
}

function samlDeps(core: Core, settings: NonNullable<Config['saml']>, baseUrl: () => string) {
  const sso = new SsoService(core.services.deps, core.services.accounts, settings);
  const sp = new SamlServiceProvider(settings, baseUrl, sso.memory, core.services.deps.now);
  return { sp, sso, settings, baseUrl };
}
