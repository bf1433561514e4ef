import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { BlobStore } from './blobs/blob-store.js';
import { openBlobStore } from './blobs/open.js';
import { SealedUploadStore } from './blobs/sealed-uploads.js';
import { LocalBus } from './bus/local.js';
import type { Bus } from './bus/bus.js';
import { redactUrl, type Config } from './config.js';
import { openDirectory } from './directory/open.js';
import { createHttpServer } from './http/server.js';
import { AtRest } from './keys/at-rest.js';
import type { KeyRing } from './keys/key-ring.js';
import { openKeyRing } from './keys/open.js';
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
import { OrgChartService } from './services/org-chart.js';
import { NotificationPrefService } from './services/notification-prefs.js';
import { MqttSessionService } from './services/mqtt-sessions.js';
import { SearchIndexer } from './services/search-indexer.js';
import { SearchService } from './services/search.js';
import { SsoService } from './services/sso.js';
import { SamlServiceProvider } from './sso/saml-sp.js';
import { PasskeyService } from './services/passkeys.js';
import { Sweeper } from './services/sweeper.js';
import { openSqliteStore } from './store/sqlite-provider.js';
import type { StoreProvider } from './store/store.js';
import type { Session, SessionDeps } from './realtime/session.js';
import { UserLimits } from './realtime/user-limits.js';
import { registerLongPoll } from './transports/long-poll.js';
import { startMqtt } from './transports/mqtt/server.js';
import { startTcp } from './transports/tcp.js';
import { loadTls } from './transports/tls.js';
import { refuseUpgrade, UpgradeRouter } from './transports/upgrade-router.js';
import { attachWebSocket, WEBSOCKET_PATH } from './transports/websocket.js';

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
  /** Data keys under the configured KMS/HSM (docs/encryption.md). */
  keys: KeyRing;
  atRest: AtRest;
  /** The store beneath encryption at rest: only for `sotong keys seal-existing`, which seals what it holds in plaintext. */
  plainStore: StoreProvider;
  blobs: BlobStore;
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
  const plainStore = await openStore(config, log);
  const bus = await openBus(config, log);
  const keys = await openKeyRing(config, plainStore, metrics.registry, log);
  const atRest = new AtRest(keys, plainStore, config.atRest);
  log.info({ atRest: config.atRest, keyProvider: keys.provider.name, masterKey: await keys.provider.currentCmkId() }, 'encryption at rest');
  // Everything above the store reads and writes through the encryption-at-rest layer.
  const store = atRest.wrap(plainStore);
  const presence = new PresenceTracker(bus, config.heartbeatMs);
  const queue = new CommitQueue(store, bus, config.commitBatchMax, metrics, log);
  const deps = {
    store,
    queue,
    bus,
    presence,
    atRest,
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
  const directory = openDirectory(config, deps, accounts);
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
    org: new OrgChartService(deps),
    notificationPrefs: new NotificationPrefService(deps),
    mqttSessions: new MqttSessionService(deps),
    ...(directory ? { directory } : {}),
  };
  const blobs = await openBlobStore(config, log, keys);
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
    keys,
    atRest,
    plainStore,
    blobs,
    async close() {
      await previews.idle();
      await indexer.close();
      blobs.close?.();
      presence.close();
      await bus.close();
      await atRest.close();
      await keys.close();
      await keys.provider.close();
      await store.close();
    },
  };
}

/** SQLite in one file, or PostgreSQL for several nodes: chosen by DATABASE_URL's scheme (config.ts). */
async function openStore(config: Config, log: Logger): Promise<StoreProvider> {
  if (config.store.kind === 'sqlite') {
    return openSqliteStore(config.store.file, config.sqliteSynchronous, (message) => log.error({ err: message }, 'checkpointing the SQLite log failed'));
  }
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
  /** Listeners that are on: raw TCP, MQTT (each TLS when the HTTP server is HTTPS). */
  tcpPort?: number;
  mqttPort?: number;
  /** SHA-256 of the served certificate, when TLS is on. */
  tlsFingerprint256?: string;
  /** Set on the first run: the workspace was created, with a generated admin password unless one was configured. */
  firstRun?: { password?: string };
  close(): Promise<void>;
}

export async function startServer(config: Config, log?: Logger): Promise<RunningServer> {
  const core = await openCore(config, log);
  const { metrics, services, store } = core;
  const boot = await services.accounts.bootstrap(config.workspaceName, config.adminEmail, config.adminPassword);
  services.directory?.startSchedule(core.log);
  const hub = new Hub(core.bus, metrics);
  core.presence.onChange((userId, status) => hub.pushPresence(userId, status));
  const tls = await loadTls(config, core.log);
  // Every transport's sessions, for the outbound-queue gauge.
  const sessionSets: Set<Session>[] = [];
  // The SAML endpoints' URLs need the public URL, which (with PORT=0) is known only after listen.
  let url = config.publicUrl ?? '';
  const saml = config.saml && samlDeps(core, config.saml, () => url);
  const uploads = new SealedUploadStore(join(config.dataDir, 'uploads'), config.uploadTtlMs, core.keys.provider, config.atRest);
  const sweeper = new Sweeper(
    config.fileSweepMs,
    [
      { name: 'files', run: () => core.files.sweep() },
      { name: 'uploads', run: async () => ({ expiredUploads: await uploads.deleteExpired() }) },
      { name: 'proof nonces', run: async () => ({ expiredProofNonces: await services.accounts.devices.sweepProofNonces() }) },
    ],
    core.log,
  );
  const http = await createHttpServer({
    ...(tls ? { tls, hstsMaxAgeSeconds: config.hstsMaxAgeSeconds } : {}),
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
      for (const sessions of sessionSets) for (const session of sessions) queued += session.queuedBytes();
      metrics.outboundQueueBytes.set(queued);
    },
  });
  const sessionDeps: SessionDeps = {
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
    users: new UserLimits(config),
  };
  const router = new UpgradeRouter(http.server);
  const closers: (() => Promise<void>)[] = [];
  if (config.websocketEnabled) {
    const ws = attachWebSocket(router, sessionDeps);
    sessionSets.push(ws.sessions);
    closers.push(() => ws.close());
  } else {
    router.route(WEBSOCKET_PATH, (_req, socket) => refuseUpgrade(socket, 403, 'Forbidden'));
  }
  const longPoll = registerLongPoll(http, sessionDeps, { holdMs: config.longPollHoldMs, idleTimeoutMs: config.idleTimeoutMs });
  sessionSets.push(longPoll.sessions);
  closers.push(() => longPoll.close());
  let tcpPort: number | undefined;
  if (config.tcpPort !== undefined) {
    const tcp = await startTcp({ host: config.host, port: config.tcpPort, tls, idleTimeoutMs: config.idleTimeoutMs }, sessionDeps);
    tcpPort = tcp.port;
    sessionSets.push(tcp.sessions);
    closers.push(() => tcp.close());
  }
  const mqtt = await startMqtt(
    {
      host: config.host,
      port: config.mqttPort,
      tls,
      router,
      maxSessionExpirySeconds: config.mqttSessionExpirySeconds,
      idleTimeoutMs: config.idleTimeoutMs,
    },
    sessionDeps,
  );
  closers.push(() => mqtt.close());
  await http.listen({ host: config.host, port: config.port });
  sweeper.start();
  const port = (http.server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  url = config.publicUrl ?? `${tls ? 'https' : 'http'}://${host}:${port}`;
  // Without PUBLIC_URL or SOTONG_WEBAUTHN_ORIGINS, passkeys work from this server's own address on localhost (a secure context).
  if (core.passkeys.rp.origins.length === 0) core.passkeys.rp.origins.push(`${tls ? 'https' : 'http'}://localhost:${port}`, new URL(url).origin);
  const mqttPort = mqtt.port;
  core.log.info({ url, port, tcpPort, mqttPort, tls: tls !== undefined, store: store.dialect }, 'listening');
  return {
    core,
    url,
    port,
    ...(tcpPort !== undefined ? { tcpPort } : {}),
    ...(mqttPort !== undefined ? { mqttPort } : {}),
    ...(tls ? { tlsFingerprint256: tls.fingerprint256 } : {}),
    ...(boot.created ? { firstRun: boot.password ? { password: boot.password } : {} } : {}),
    async close() {
      await services.directory?.stopSchedule();
      await sweeper.stop();
      for (const close of closers) await close();
      router.close();
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
