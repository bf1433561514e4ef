import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  SotongError,
  isCommandName,
  type AuthResult,
  type ClientFrame,
  type ErrorBody,
  type ServerFrame,
} from '@sotong/protocol';
import { newChallenge } from '../auth/device-proof.js';
import { newId } from '../ids.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { dispatch, type Services } from '../services/dispatch.js';
import type { Actor } from '../services/permissions.js';
import { encodeFrame, type Hub, type HubSession } from './hub.js';
import type { PresenceTracker } from './presence.js';
import { TokenBucket } from './token-bucket.js';

/** What a transport provides: a way to write bytes, to see what is still queued, and to close. */
export interface Sink {
  send(frame: Buffer): void;
  bufferedBytes(): number;
  close(code: number, reason: string): void;
  /** The peer's address, for the audit log. */
  readonly address?: string | undefined;
}

export interface SessionLimits {
  maxFrameBytes: number;
  outboundQueueBytes: number;
  commandsPerSecond: number;
  commandBurst: number;
  authTimeoutMs: number;
  heartbeatMs: number;
  catchUpEventsPerChannel: number;
}

export interface SessionDeps {
  services: Services;
  hub: Hub;
  presence: PresenceTracker;
  limits: SessionLimits;
  metrics: Metrics;
  log: Logger;
}

interface Held {
  channelId: string;
  seq: number;
  frame: Buffer;
}

/**
 * One client connection, whatever its transport: authentication, commands, catch-up, and a
 * bounded outbound queue. A session that falls too far behind is closed, never waited for.
 */
export class Session implements HubSession {
  readonly id = newId('s');
  readonly channels = new Set<string>();
  readonly watching = new Set<string>();
  private actor: Actor | undefined;
  private device: string | undefined;
  /** The nonce this connection's device proof must sign. */
  private readonly challenge = newChallenge();
  /** Live frames held while the backlog is being sent; null once caught up. */
  private held: Held[] | null = null;
  /**
   * The last seq sent per channel. An event can reach the store's readers before it is durable
   * and published, so the backlog may already have held an event that arrives live afterwards.
   */
  private readonly lastSent = new Map<string, number>();
  private closed = false;
  private readonly bucket: TokenBucket;
  private readonly authTimer: NodeJS.Timeout;

  constructor(
    private readonly sink: Sink,
    private readonly deps: SessionDeps,
    readonly transport: string,
  ) {
    this.bucket = new TokenBucket(deps.limits.commandsPerSecond, deps.limits.commandBurst);
    this.authTimer = setTimeout(() => this.close(CLOSE_CODES.authTimeout, 'auth_timeout'), deps.limits.authTimeoutMs);
    this.send({ t: 'hello', v: PROTOCOL_VERSION, maxFrameBytes: deps.limits.maxFrameBytes, challenge: this.challenge });
  }

  get userId(): string {
    return this.actor?.userId ?? '';
  }

  get deviceId(): string {
    return this.device ?? '';
  }

  async handle(frame: ClientFrame): Promise<void> {
    if (this.closed) return;
    switch (frame.t) {
      case 'ping':
        return this.send({ t: 'pong' });
      case 'auth':
        return this.authenticate(frame);
      case 'cmd':
        return this.command(frame.id, frame.cmd, frame.args);
    }
  }

  sendError(error: SotongError | ErrorBody, requestId?: string): void {
    const body = error instanceof SotongError ? error.toBody() : error;
    this.send(requestId === undefined ? { t: 'error', ...body } : { t: 'error', id: requestId, ...body });
  }

  deliver(channelId: string, seq: number, frame: Buffer): void {
    if (this.held) return void this.held.push({ channelId, seq, frame });
    const last = this.lastSent.get(channelId);
    if (last !== undefined && seq <= last) return;
    this.lastSent.set(channelId, seq);
    this.push(frame);
  }

  push(frame: Buffer): void {
    if (this.closed) return;
    this.sink.send(frame);
    if (this.sink.bufferedBytes() > this.deps.limits.outboundQueueBytes) {
      this.deps.metrics.slowConsumerDisconnects.inc();
      this.deps.log.warn({ session: this.id, user: this.userId, transport: this.transport }, 'closing slow consumer');
      this.close(CLOSE_CODES.slowConsumer, 'slow_consumer');
    }
  }

  queuedBytes(): number {
    return this.closed ? 0 : this.sink.bufferedBytes();
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.sink.close(code, reason);
    this.onClosed();
  }

  /** The transport saw the connection end. */
  onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.authTimer);
    if (this.actor) {
      this.deps.hub.removeSession(this);
      this.deps.presence.disconnected(this.actor.userId);
    }
  }

  private send(frame: ServerFrame): void {
    this.push(encodeFrame(frame));
  }

  private async authenticate(frame: Extract<ClientFrame, { t: 'auth' }>): Promise<void> {
    if (this.actor) return this.sendError(new SotongError('bad_request', 'already authenticated'), frame.id);
    if (frame.v !== PROTOCOL_VERSION) {
      this.sendError(new SotongError('unsupported_version', `this server speaks protocol ${PROTOCOL_VERSION}`), frame.id);
      return this.close(CLOSE_CODES.authFailed, 'unsupported_version');
    }
    let authenticated;
    try {
      const proof = { claims: { kind: 'challenge' as const, transport: this.transport, nonce: this.challenge }, signature: frame.proof };
      authenticated = await this.deps.services.accounts.devices.authenticate(frame.token, proof, { address: this.sink.address ?? 'unknown' });
    } catch (err) {
      this.sendError(asSotongError(err, this.deps.log), frame.id);
      return this.close(CLOSE_CODES.authFailed, 'unauthenticated');
    }
    if (this.closed) return;
    clearTimeout(this.authTimer);
    this.actor = authenticated.actor;
    this.device = authenticated.deviceId;
    this.held = [];
    const { hub, services, limits } = this.deps;
    // Join user routing first, so a channel joined from now on is subscribed even during catch-up.
    hub.addSession(this);
    this.deps.presence.connected(this.actor.userId);
    const seqs = await services.channels.memberships(this.actor);
    for (const channelId of seqs.keys()) hub.subscribe(this, channelId);
    // Hear live events before reading the backlog: whatever commits after the read is then held, not lost.
    await hub.settled();
    // A revocation committed before this node heard the user's topic was published unheard: look once more.
    if (!(await services.accounts.devices.isActive(authenticated.deviceId))) return this.close(CLOSE_CODES.revoked, 'device_revoked');
    if (this.closed) return;

    const { events, truncated } = await services.messages.backlog(this.actor, frame.cursors ?? {}, seqs, limits.catchUpEventsPerChannel);
    const backlog = events.map((e) => encodeFrame({ t: 'event', e }));
    for (const [channelId, seq] of Object.entries(frame.cursors ?? {})) this.lastSent.set(channelId, seq);
    for (const e of events) this.lastSent.set(e.channelId, e.seq);
    const result: AuthResult = {
      user: authenticated.user,
      sessionId: this.id,
      channels: Object.fromEntries(seqs),
      heartbeatMs: limits.heartbeatMs,
      truncated,
    };
    this.send({ t: 'result', id: frame.id, data: result });
    for (const f of backlog) this.push(f);
    const held = this.held;
    this.held = null;
    for (const h of held) this.deliver(h.channelId, h.seq, h.frame);
  }

  private async command(id: string, name: string, args: unknown): Promise<void> {
    const { metrics } = this.deps;
    const label = isCommandName(name) ? name : 'unknown';
    if (!this.actor) return this.sendError(new SotongError('unauthenticated', 'send auth first'), id);
    if (!this.bucket.take()) {
      metrics.commands.inc({ command: label, outcome: 'rate_limited' });
      return this.sendError(new SotongError('rate_limited', 'too many commands; slow down', { perSecond: this.deps.limits.commandsPerSecond }), id);
    }
    try {
      const data = await dispatch(this.deps.services, this.actor, name, args, {
        watchPresence: (userIds) => {
          const fresh = this.deps.hub.watchPresence(this, userIds);
          // Ask the other nodes once this node is listening for their answers.
          if (fresh.length > 0) void this.deps.hub.settled().then(() => fresh.forEach((id) => this.deps.presence.query(id)));
        },
      });
      metrics.commands.inc({ command: label, outcome: 'ok' });
      this.send({ t: 'result', id, data });
    } catch (err) {
      const error = asSotongError(err, this.deps.log);
      metrics.commands.inc({ command: label, outcome: error.code });
      this.sendError(error, id);
    }
  }
}

/** Typed errors pass through; anything else is logged and reported as internal, without its text. */
export function asSotongError(err: unknown, log: Logger): SotongError {
  if (err instanceof SotongError) return err;
  log.error({ err }, 'unexpected error');
  return new SotongError('internal', 'internal error');
}
