import {
  commands,
  SotongError,
  type DeviceEnrolment,
  type AuthResult,
  type ChannelEvent,
  type CommandArgs,
  type CommandName,
  type CommandResult,
  type Message,
  type Signal,
  type User,
} from '@sotong/protocol';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { Connection, type ConnectionStatus, type PushFrame, type WebSocketConstructor } from './connection.js';
import { WebCryptoDeviceKey, type DeviceKey } from './device-key.js';
import { DeviceSession, type Credentials } from './device-session.js';
import { Emitter } from './emitter.js';
import { unavailable } from './errors.js';
import { exchangeSsoCode, login, loginWithCode, webSocketUrl, type LoginResult } from './http.js';
import { completeSetup, type Setup } from './first-run.js';
import { Outbox } from './outbox.js';
import { browserAuthenticator, passkeyLogin, passkeySecondStep, type Authenticator } from './passkeys.js';
import { Sequencer } from './sequencer.js';
import { LocalState, type ClientState, type ReadState } from './state.js';
import { CursorStore, MemoryStorage, type KeyValueStorage } from './storage.js';

export interface SotongClientOptions {
  /** `ws(s)://host:port/ws` */
  url: string;
  /** What signs each connection: a `DeviceSession` (from `login`, or restored). */
  credentials?: Credentials;
  /** A bare token instead, for servers that ask no device proof. */
  token?: string;
  /** The signed-in user, if known before connecting: lets the first connect resume from stored cursors. */
  user?: User;
  /** Default: `globalThis.WebSocket`. In Node 20 pass `WebSocket` from the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** Where cursors survive restarts (`localStorage` fits). Default: memory only. */
  storage?: KeyValueStorage;
  requestTimeoutMs?: number;
  reconnect?: Partial<BackoffOptions>;
  /** Validate every incoming frame and command result against the protocol schemas. */
  debug?: boolean;
  /** Fall back to HTTP long-polling when the WebSocket cannot be opened (default true). */
  longPoll?: boolean;
  /** While long-polling, how often to try the WebSocket again (default 30 s). */
  upgradeProbeMs?: number;
  /** Used by long-polling. Default: `globalThis.fetch`. */
  fetch?: typeof fetch;
}

export type LoginOptions = Omit<SotongClientOptions, 'url' | 'token' | 'user' | 'credentials'> & {
  fetch?: typeof fetch;
  /**
   * This device's key. Default: a new WebCrypto key in memory, so each run is a new device; pass
   * `WebCryptoDeviceKey.persistent()` (browser) or `NodeDeviceKey.fromFile(path)` (Node) to stay one device.
   */
  device?: DeviceKey;
  /** How the device is listed to its owner and admins. */
  deviceName?: string;
  platform?: string;
};

export interface ClientEvents {
  /** A channel event, applied to the state; per channel in seq order, each exactly once. */
  event: ChannelEvent;
  signal: Signal;
  state: ClientState;
  status: ConnectionStatus;
  /** Trouble the client recovers from by itself: a malformed frame, a failed gap fill, storage errors. */
  error: Error;
}

/** Commands without required arguments may be called without them. */
type CallArgs<N extends CommandName> = {} extends CommandArgs<N> ? [args?: CommandArgs<N>] : [args: CommandArgs<N>];

const SYNC_PAGE_SIZE = 500;
const DEFAULT_RETRY: BackoffOptions = { baseMs: 1_000, maxMs: 30_000 };

export class SotongClient {
  private readonly emitter = new Emitter<ClientEvents>();
  private readonly state = new LocalState((state) => this.emitter.emit('state', state));
  private readonly connection: Connection;
  private readonly sequencer: Sequencer;
  private readonly outbox: Outbox;
  private readonly storage: KeyValueStorage;
  private cursorStore: CursorStore | undefined;
  private storedCursorsLoaded: Promise<void> | undefined;
  private bootstrap: Promise<void> = Promise.resolve();

  /**
   * Signs in over REST from this device (enrolling it the first time) and returns a client for
   * that session, not yet connected. Where new devices need approval, the client's
   * `session.renew()` and `connect()` are refused with `device_pending` until then.
   */
  static async login(httpBase: string, email: string, password: string, options: LoginOptions = {}): Promise<SotongClient> {
    const key = options.device ?? (await WebCryptoDeviceKey.generate());
    const result = await login(httpBase, email, password, deviceEnrolment(key, options), options.fetch);
    return SotongClient.forDevice(httpBase, key, result, options);
  }

  /** Finishes a sign-in whose password step asked for a second factor (see `login`); pass the same `device`. */
  static async loginWithCode(httpBase: string, challenge: string, code: string, options: LoginOptions = {}): Promise<SotongClient> {
    const key = options.device ?? (await WebCryptoDeviceKey.generate());
    const result = await loginWithCode(httpBase, challenge, code, deviceEnrolment(key, options), options.fetch);
    return SotongClient.forDevice(httpBase, key, result, options);
  }

  /**
   * Finishes SAML single sign-on with the one-time code the server's redirect gave the app
   * (`/#/sso?code=…`), enrolling this device like `login` does. When a second step is due it throws
   * like `login`; finish with `loginWithCode` and the same `device`.
   */
  static async loginWithSsoCode(httpBase: string, code: string, options: LoginOptions = {}): Promise<SotongClient> {
    const key = options.device ?? (await WebCryptoDeviceKey.generate());
    const result = await exchangeSsoCode(httpBase, code, deviceEnrolment(key, options), options.fetch);
    return SotongClient.forDevice(httpBase, key, result, options);
  }

  /** Finishes the server's first-run set-up with its printed one-time code (see `completeSetup`) and signs this device in as the owner. */
  static async setUp(httpBase: string, setup: Setup, options: LoginOptions = {}): Promise<SotongClient> {
    const key = options.device ?? (await WebCryptoDeviceKey.generate());
    const result = await completeSetup(httpBase, setup, deviceEnrolment(key, options), options.fetch);
    return SotongClient.forDevice(httpBase, key, result, options);
  }

  /** Passwordless sign-in with a discoverable passkey (`navigator.credentials.get` unless `authenticator` says otherwise). */
  static async loginWithPasskey(httpBase: string, options: LoginOptions & { authenticator?: Authenticator } = {}): Promise<SotongClient> {
    const key = options.device ?? (await WebCryptoDeviceKey.generate());
    const { authenticator = browserAuthenticator, ...rest } = options;
    const result = await passkeyLogin(httpBase, deviceEnrolment(key, rest), authenticator, options.fetch);
    return SotongClient.forDevice(httpBase, key, result, rest);
  }

  /** Finishes a sign-in whose password step asked for a passkey (`mfa: 'passkey'`, or `factors` naming it); pass the same `device`. */
  static async loginWithPasskeyStep(httpBase: string, challenge: string, options: LoginOptions & { authenticator?: Authenticator } = {}): Promise<SotongClient> {
    const key = options.device ?? (await WebCryptoDeviceKey.generate());
    const { authenticator = browserAuthenticator, ...rest } = options;
    const result = await passkeySecondStep(httpBase, challenge, deviceEnrolment(key, rest), authenticator, options.fetch);
    return SotongClient.forDevice(httpBase, key, result, rest);
  }

  /**
   * Always-on: the client of a device that signed in on an earlier run (its credential kept in
   * `storage`), with no new sign-in; null when there is none or it lapsed.
   */
  static async resume(httpBase: string, options: LoginOptions & { device: DeviceKey; storage: KeyValueStorage }): Promise<SotongClient | null> {
    const session = await DeviceSession.restore({ httpBase, key: options.device, storage: options.storage, ...(options.fetch ? { fetch: options.fetch } : {}) });
    if (!session) return null;
    const { device: _device, deviceName: _name, platform: _platform, ...clientOptions } = options;
    return new SotongClient({ ...clientOptions, url: webSocketUrl(httpBase), credentials: session }, session);
  }

  /**
   * The client for a sign-in answered elsewhere (e.g. `finishTotpEnrollment`) for `key`, whose
   * enrolment `deviceEnrolment(key, options)` described.
   */
  static fromLogin(httpBase: string, key: DeviceKey, result: LoginResult, options: LoginOptions = {}): Promise<SotongClient> {
    return SotongClient.forDevice(httpBase, key, result, options);
  }

  private static async forDevice(httpBase: string, key: DeviceKey, result: LoginResult, options: LoginOptions): Promise<SotongClient> {
    const { device: _device, deviceName: _name, platform: _platform, ...clientOptions } = options;
    const fetchImpl = options.fetch;
    const session = await DeviceSession.fromLogin({ httpBase, key, ...(fetchImpl ? { fetch: fetchImpl } : {}), ...(options.storage ? { storage: options.storage } : {}) }, result);
    const user = 'user' in result ? result.user : undefined;
    return new SotongClient({ ...clientOptions, url: webSocketUrl(httpBase), credentials: session, ...(user ? { user } : {}) }, session);
  }

  /**
   * `session`: the device session behind `options.credentials`, when the client made it (login,
   * resume): it renews the access token by itself and stops when the client closes.
   */
  constructor(
    private readonly options: SotongClientOptions,
    readonly session?: DeviceSession,
  ) {
    this.storage = options.storage ?? new MemoryStorage();
    if (options.user) this.state.setUser(options.user);
    this.connection = new Connection(
      { ...options, validateFrames: options.debug ?? false },
      {
        cursors: () => this.sequencer.cursors(),
        ready: (session) => this.onReady(session),
        frame: (frame) => this.onFrame(frame),
        disconnected: () => this.onDisconnected(),
        status: (status) => {
          this.state.setStatus(status);
          this.emitter.emit('status', status);
        },
        error: (error) => this.reportError(error),
      },
    );
    this.sequencer = new Sequencer({
      fetchAfter: (channelId, after) => this.call('events.sync', { channelId, after, limit: SYNC_PAGE_SIZE }),
      apply: (event) => this.onEvent(event),
      error: (error) => this.reportError(error),
    });
    this.outbox = new Outbox({
      send: (args) => this.call('message.send', args),
      changed: (entries) => this.state.setOutbox(entries),
      retryDelayMs: (attempt) => backoffDelay(attempt, DEFAULT_RETRY),
    });
  }

  get user(): User | null {
    return this.state.get().user;
  }

  getState(): ClientState {
    return this.state.get();
  }

  on<K extends keyof ClientEvents>(name: K, listener: (value: ClientEvents[K]) => void): () => void {
    return this.emitter.on(name, listener);
  }

  /**
   * Connects and resolves once the session is ready and the channel list is loaded. Keeps
   * reconnecting after network failures; rejects only when refused (bad token) or closed.
   */
  async connect(): Promise<AuthResult> {
    const user = this.user;
    if (user) await (this.storedCursorsLoaded ??= this.loadStoredCursors(user));
    const session = await this.connection.open();
    await this.bootstrap;
    return session;
  }

  /** Closes the session. Unacknowledged messages are marked failed; `retrySend` queues them again. */
  async close(): Promise<void> {
    this.connection.close();
    this.session?.stop();
    this.outbox.failAll(unavailable('client closed'));
    await this.cursorStore?.flush();
  }

  call<N extends CommandName>(cmd: N, ...[args]: CallArgs<N>): Promise<CommandResult<N>> {
    return this.connection.request(cmd, args ?? {}).then((data) => {
      if (!this.options.debug) return data as CommandResult<N>;
      const parsed = commands[cmd].result.safeParse(data);
      if (!parsed.success) throw new SotongError('internal', `invalid ${cmd} result: ${parsed.error.message}`);
      return parsed.data as CommandResult<N>;
    });
  }

  /**
   * Sends a message through the outbox: it shows in `getState().outbox` until acknowledged,
   * survives reconnects, and is sent once however often it is retried.
   */
  send(channelId: string, text: string, options: { threadRootId?: string } = {}): Promise<Message> {
    return this.outbox.enqueue(channelId, text, options.threadRootId);
  }

  retrySend(clientMsgId: string): Promise<Message> {
    return this.outbox.retry(clientMsgId);
  }

  discardSend(clientMsgId: string): boolean {
    return this.outbox.discard(clientMsgId);
  }

  /** Marks the channel read up to `seq` (default: its newest event) and updates the badges. */
  async markRead(channelId: string, seq?: number): Promise<ReadState> {
    const upTo = seq ?? this.state.get().channels.get(channelId)?.lastSeq ?? this.sequencer.cursor(channelId) ?? 0;
    const read = await this.call('channel.markRead', { channelId, seq: upTo });
    this.state.applyReadState(channelId, read);
    return read;
  }

  private async loadStoredCursors(user: User): Promise<void> {
    const store = this.cursorStoreFor(user);
    try {
      for (const [channelId, seq] of Object.entries(await store.load())) {
        if (this.sequencer.cursor(channelId) === undefined) this.sequencer.start(channelId, seq);
      }
    } catch (error) {
      this.reportError(error);
    }
  }

  /** Cursors are kept per user and server. */
  private cursorStoreFor(user: User): CursorStore {
    const key = `sotong:cursors:${user.id}@${this.options.url}`;
    if (this.cursorStore?.key !== key) this.cursorStore = new CursorStore(this.storage, key, (error) => this.reportError(error));
    return this.cursorStore;
  }

  private onReady(session: AuthResult): void {
    // Events wait until the channel list is loaded, so that the list's counts and the events
    // after it add up (events at or below a view's lastSeq are already counted in it).
    this.sequencer.pause();
    this.state.setUser(session.user);
    this.cursorStoreFor(session.user);
    for (const channelId of this.sequencer.channelIds()) {
      if (!(channelId in session.channels)) this.sequencer.forget(channelId);
    }
    const truncated = new Set(session.truncated);
    for (const [channelId, head] of Object.entries(session.channels)) {
      const cursor = this.sequencer.cursor(channelId);
      // A cursor past the head means the server's log was reset: follow the server.
      if (cursor === undefined || cursor > head) this.sequencer.start(channelId, head);
      else if (truncated.has(channelId)) this.sequencer.observeHead(channelId, head);
    }
    this.persistCursors();
    this.bootstrap = this.call('channels.list')
      .then(({ channels }) => this.state.replaceChannels(channels))
      .catch((error: unknown) => this.reportError(error))
      .finally(() => this.sequencer.resume());
    this.outbox.setOnline(true);
  }

  private onDisconnected(): void {
    this.outbox.setOnline(false);
    this.sequencer.reset();
  }

  private onFrame(frame: PushFrame): void {
    switch (frame.t) {
      case 'event':
        this.sequencer.push(frame.e);
        return;
      case 'signal':
        this.state.applySignal(frame.s);
        this.emitter.emit('signal', frame.s);
        return;
      case 'subscribed':
        this.sequencer.observeHead(frame.channelId, frame.lastSeq);
        this.persistCursors();
        this.refreshChannel(frame.channelId);
        return;
      case 'unsubscribed':
        this.sequencer.forget(frame.channelId);
        this.state.removeChannel(frame.channelId);
        this.persistCursors();
        return;
    }
  }

  private onEvent(event: ChannelEvent): void {
    const staleBadges = this.badgesMayChange(event);
    this.state.applyEvent(event);
    if (staleBadges) this.refreshChannel(event.channelId);
    if (event.type === 'message.posted' && event.message.senderId === this.user?.id) this.outbox.acknowledge(event.message);
    this.persistCursors();
    this.emitter.emit('event', event);
  }

  /**
   * Deleting or editing an unread message can change the badges, and the event does not say
   * by how much (a deletion does not even carry the message's seq): ask the server.
   */
  private badgesMayChange(event: ChannelEvent): boolean {
    const view = this.state.get().channels.get(event.channelId);
    if (!view) return false;
    if (event.type === 'message.deleted') return view.unreadCount > 0 || view.mentionCount > 0;
    if (event.type === 'message.edited') return event.message.senderId !== this.user?.id && event.message.seq > view.lastReadSeq;
    return false;
  }

  private refreshChannel(channelId: string): void {
    this.call('channel.get', { channelId }).then(
      (view) => this.state.upsertChannel(view),
      (error: unknown) => this.reportError(error),
    );
  }

  private persistCursors(): void {
    this.cursorStore?.schedule(() => this.sequencer.cursors());
  }

  private reportError(error: unknown): void {
    this.emitter.emit('error', error instanceof Error ? error : new Error(String(error)));
  }
}

/** What a sign-in from `key` says about the device (name and platform from `options`, else guessed). */
export function deviceEnrolment(key: DeviceKey, options: LoginOptions = {}): DeviceEnrolment {
  const node = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  const platform = options.platform ?? (node ? `node ${process.platform}` : (globalThis.navigator?.userAgent ?? 'browser').slice(0, 60));
  return { name: options.deviceName ?? (node ? 'Node.js client' : 'Web browser'), platform, publicKey: key.publicKey };
}
