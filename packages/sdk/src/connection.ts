import {
  AuthResult,
  CLOSE_CODES,
  PROTOCOL_VERSION,
  ServerFrame,
  SotongError,
  type ClientFrame,
} from '@sotong/protocol';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { Credentials } from './device-session.js';
import { toSotongError, unavailable } from './errors.js';
import type { Cursors } from './storage.js';

/** The part of the WebSocket API the SDK uses: the browser's WebSocket and the `ws` package both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // `any`: the DOM and `ws` event classes are unrelated types; the handlers below read only `data`, `code` and `reason`.
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type ConnectionStatus =
  | { state: 'idle' }
  | { state: 'connecting'; attempt: number }
  | { state: 'ready' }
  | { state: 'reconnecting'; attempt: number; delayMs: number; closeCode: number; reason: string }
  | { state: 'closed'; reason: string; error?: SotongError };

/** Frames the server pushes without being asked. */
export type PushFrame = Extract<ServerFrame, { t: 'event' | 'signal' | 'subscribed' | 'unsubscribed' }>;

export interface ConnectionOptions {
  url: string;
  /** A device session signs each connection's challenge (the real server requires it). */
  credentials?: Credentials;
  /** A bare token, for servers that ask no device proof. */
  token?: string;
  WebSocket?: WebSocketConstructor;
  requestTimeoutMs?: number;
  reconnect?: Partial<BackoffOptions>;
  /** Check every incoming frame against the protocol schemas (costs time; for development). */
  validateFrames?: boolean;
}

export interface ConnectionHandlers {
  /** The cursors to resume from, read when the auth frame is sent. */
  cursors(): Cursors;
  /** Called before any frame that follows the auth result is handled. */
  ready(session: AuthResult): void;
  frame(frame: PushFrame): void;
  /** The ready session ended; reconnecting may follow. */
  disconnected(): void;
  status(status: ConnectionStatus): void;
  error(error: Error): void;
}

interface PendingRequest {
  resolve(data: unknown): void;
  reject(error: SotongError): void;
  timer: ReturnType<typeof setTimeout>;
}

interface Waiter {
  resolve(session: AuthResult): void;
  reject(error: SotongError): void;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
const DEFAULT_RECONNECT: BackoffOptions = { baseMs: 500, maxMs: 30_000 };
/** Auth answers that a retry with the same token and version cannot change. */
const FATAL_AUTH_CODES = new Set(['unauthenticated', 'unsupported_version']);

/**
 * One logical session over a series of sockets: hello and auth, requests matched to results by
 * id, heartbeat, and reconnecting with backoff until closed or refused.
 */
export class Connection {
  private socket: WebSocketLike | null = null;
  private currentStatus: ConnectionStatus = { state: 'idle' };
  private session: AuthResult | null = null;
  private authRequestId: string | null = null;
  private readonly pending = new Map<string, PendingRequest>();
  private waiters: Waiter[] = [];
  private nextRequestId = 1;
  private attempt = 0;
  private maxFrameBytes = Infinity;
  private lastFrameAt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private readonly requestTimeoutMs: number;
  private readonly reconnect: BackoffOptions;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  get isReady(): boolean {
    return this.session !== null;
  }

  /** Connects unless already connected or connecting; resolves at the next ready session. */
  open(): Promise<AuthResult> {
    if (this.session) return Promise.resolve(this.session);
    const promise = new Promise<AuthResult>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.currentStatus.state === 'idle' || this.currentStatus.state === 'closed') {
      this.attempt = 0;
      this.startAttempt();
    }
    return promise;
  }

  close(reason = 'closed by client'): void {
    if (this.currentStatus.state === 'closed' || this.currentStatus.state === 'idle') return;
    const socket = this.socket;
    this.socket = null;
    socket?.close(CLOSE_CODES.normal, reason);
    this.endSession(unavailable('client closed'));
    this.finish({ state: 'closed', reason });
  }

  request(cmd: string, args: unknown): Promise<unknown> {
    const socket = this.socket;
    if (!socket || !this.isReady) return Promise.reject(unavailable('not connected'));
    const id = `r${this.nextRequestId++}`;
    const text = JSON.stringify({ t: 'cmd', id, cmd, args } satisfies ClientFrame);
    if (exceedsBytes(text, this.maxFrameBytes)) {
      return Promise.reject(new SotongError('too_large', `the request is larger than the server's ${this.maxFrameBytes} byte frame limit`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(unavailable(`${cmd} timed out after ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      try {
        socket.send(text);
      } catch (error) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(unavailable(`send failed: ${error instanceof Error ? error.message : String(error)}`));
      }
    });
  }

  private startAttempt(): void {
    this.setStatus({ state: 'connecting', attempt: this.attempt });
    // The DOM typings promise a global WebSocket; Node 20 has none.
    const WebSocketImpl = this.options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
    if (!WebSocketImpl) {
      this.fail(new SotongError('bad_request', 'no WebSocket implementation: pass one (e.g. `WebSocket` from the ws package) in the options'));
      return;
    }
    let socket: WebSocketLike;
    try {
      socket = new WebSocketImpl(this.options.url);
    } catch (error) {
      this.fail(new SotongError('bad_request', `cannot open ${this.options.url}: ${error instanceof Error ? error.message : String(error)}`));
      return;
    }
    this.socket = socket;
    this.handshakeTimer = setTimeout(() => this.drop(socket, CLOSE_CODES.authTimeout, 'handshake timed out'), this.requestTimeoutMs);
    socket.onmessage = (event: { data: unknown }) => {
      if (this.socket === socket) this.receive(socket, event.data);
    };
    socket.onclose = (event: { code: number; reason: string }) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.lost(event.code, event.reason);
    };
    // A close event always follows an error; the handler exists so that `ws` does not throw.
    socket.onerror = () => {};
  }

  private receive(socket: WebSocketLike, data: unknown): void {
    this.lastFrameAt = Date.now();
    let frame: ServerFrame;
    try {
      const parsed: unknown = JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data as ArrayBuffer));
      frame = this.options.validateFrames ? ServerFrame.parse(parsed) : (parsed as ServerFrame);
    } catch (error) {
      this.handlers.error(new Error(`dropped a malformed frame: ${error instanceof Error ? error.message : String(error)}`));
      return;
    }
    switch (frame.t) {
      case 'hello':
        this.maxFrameBytes = frame.maxFrameBytes;
        void this.authenticate(socket, frame.challenge);
        return;
      case 'result':
        if (frame.id === this.authRequestId) this.authenticated(socket, frame.data);
        else this.settle(frame.id, (request) => request.resolve(frame.data));
        return;
      case 'error': {
        const error = new SotongError(frame.code, frame.message, frame.details);
        if (frame.id !== undefined && frame.id === this.authRequestId) this.authRefused(socket, error);
        else if (frame.id !== undefined) this.settle(frame.id, (request) => request.reject(error));
        else this.handlers.error(error);
        return;
      }
      case 'pong':
        return;
      default:
        if (this.isReady) this.handlers.frame(frame);
    }
  }

  private async authenticate(socket: WebSocketLike, challenge: string | undefined): Promise<void> {
    let signed: { token: string; proof?: string } = { token: this.options.token ?? '' };
    if (this.options.credentials) {
      try {
        // May renew the access token first (on reconnect after it expired, for instance).
        signed = await this.options.credentials.connectProof(challenge, 'websocket');
      } catch (error) {
        if (this.socket !== socket) return;
        const refused = toSotongError(error);
        if (FATAL_AUTH_CODES.has(refused.code)) {
          this.socket = null;
          socket.close(CLOSE_CODES.normal, refused.code);
          this.fail(refused);
        } else {
          this.drop(socket, CLOSE_CODES.normal, `cannot sign in: ${refused.message}`);
        }
        return;
      }
      if (this.socket !== socket) return;
    }
    this.authRequestId = `auth${this.nextRequestId++}`;
    const cursors = this.handlers.cursors();
    const frame: ClientFrame = {
      t: 'auth',
      id: this.authRequestId,
      v: PROTOCOL_VERSION,
      token: signed.token,
      ...(signed.proof ? { proof: signed.proof } : {}),
      ...(Object.keys(cursors).length > 0 ? { cursors } : {}),
    };
    socket.send(JSON.stringify(frame));
  }

  private authenticated(socket: WebSocketLike, data: unknown): void {
    const parsed = this.options.validateFrames ? AuthResult.safeParse(data) : { success: true as const, data: data as AuthResult };
    if (!parsed.success) {
      this.handlers.error(new Error(`invalid auth result: ${parsed.error.message}`));
      this.drop(socket, CLOSE_CODES.normal, 'invalid auth result');
      return;
    }
    const session = parsed.data;
    clearTimeout(this.handshakeTimer);
    this.authRequestId = null;
    this.attempt = 0;
    this.session = session;
    this.startHeartbeat(socket, session.heartbeatMs);
    this.handlers.ready(session);
    this.setStatus({ state: 'ready' });
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve(session);
  }

  private authRefused(socket: WebSocketLike, error: SotongError): void {
    // An expired or unknown token (no device reason given): renew it and try again.
    const renewable = this.options.credentials && error.code === 'unauthenticated' && (error.details as { reason?: unknown } | undefined)?.reason === undefined;
    if (renewable) {
      this.options.credentials!.invalidate();
      this.drop(socket, CLOSE_CODES.normal, 'token expired');
    } else if (FATAL_AUTH_CODES.has(error.code)) {
      this.socket = null;
      socket.close(CLOSE_CODES.normal, error.code);
      this.fail(error);
    } else {
      this.drop(socket, CLOSE_CODES.normal, `auth failed: ${error.message}`);
    }
  }

  /**
   * Pings at half the server's heartbeat interval. Any frame counts as a sign of life; with none
   * for two intervals the socket is taken for dead (browsers cannot see WebSocket-level pings).
   */
  private startHeartbeat(socket: WebSocketLike, heartbeatMs: number): void {
    if (heartbeatMs <= 0) return;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastFrameAt > heartbeatMs * 2) {
        this.drop(socket, CLOSE_CODES.heartbeatTimeout, 'no frames from the server');
        return;
      }
      socket.send(JSON.stringify({ t: 'ping' } satisfies ClientFrame));
    }, heartbeatMs / 2);
  }

  private settle(id: string, complete: (request: PendingRequest) => void): void {
    const request = this.pending.get(id);
    if (!request) return; // timed out earlier, or answered on a socket we left
    this.pending.delete(id);
    clearTimeout(request.timer);
    complete(request);
  }

  /** Gives up on a socket from our side and continues as if the server had closed it. */
  private drop(socket: WebSocketLike, code: number, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = null;
    socket.close();
    this.lost(code, reason);
  }

  private lost(code: number, reason: string): void {
    this.endSession(unavailable(`connection lost (${code}${reason ? `: ${reason}` : ''})`));
    if (code === CLOSE_CODES.authFailed) {
      this.fail(new SotongError('unauthenticated', reason || 'authentication failed'));
      return;
    }
    const delayMs = backoffDelay(this.attempt, this.reconnect);
    this.attempt += 1;
    this.setStatus({ state: 'reconnecting', attempt: this.attempt, delayMs, closeCode: code, reason });
    this.reconnectTimer = setTimeout(() => this.startAttempt(), delayMs);
  }

  /** Clears what belonged to the socket that ended and fails its unanswered requests. */
  private endSession(error: SotongError): void {
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.reconnectTimer);
    clearInterval(this.heartbeatTimer);
    this.authRequestId = null;
    const wasReady = this.isReady;
    this.session = null;
    if (wasReady) this.handlers.disconnected();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const request of pending) {
      clearTimeout(request.timer);
      request.reject(error);
    }
  }

  private fail(error: SotongError): void {
    this.endSession(error);
    this.finish({ state: 'closed', reason: error.message, error });
  }

  private finish(status: Extract<ConnectionStatus, { state: 'closed' }>): void {
    this.setStatus(status);
    const waiters = this.waiters;
    this.waiters = [];
    const error = status.error ?? unavailable(status.reason);
    for (const waiter of waiters) waiter.reject(error);
  }

  private setStatus(status: ConnectionStatus): void {
    this.currentStatus = status;
    this.handlers.status(status);
  }
}

/** Each UTF-16 unit takes at most 3 UTF-8 bytes, so most frames skip the encoding. */
function exceedsBytes(text: string, limit: number): boolean {
  if (text.length * 3 <= limit) return false;
  return new TextEncoder().encode(text).length > limit;
}
