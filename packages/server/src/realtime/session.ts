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
import type { PresentedProof } from '../services/devices.js';
import type { Actor } from '../services/permissions.js';
import { encodeFrame, type Hub, type HubSession } from './hub.js';
import type { PresenceTracker } from './presence.js';
import { TokenBucket } from './token-bucket.js';
import type { UserLimits } from './user-limits.js';

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
  users: UserLimits;
}

/** A sign-in, whatever carried it (an `auth` frame, an MQTT CONNECT). */
export interface AuthRequest {
  v: number;
  token: string;
  /** The device key's signature over this session's challenge (`challengeNonce`). */
  proof?: string | undefined;
  /**
   * A proof the transport built claims for itself instead (MQTT 3.1.1 has no way to answer a
   * challenge: its CONNECT carries a request proof with the client's own time and nonce).
   */
  presented?: PresentedProof;
  /** Where to resume from; a function is asked once the token has named the user (MQTT keeps cursors per user and client id). */
  cursors?: Record<string, number> | ((userId: string) => Promise<Record<string, number>>) | undefined;
}

/** How the transport answers a sign-in; the answer comes before any backlog event. */
export interface AuthAnswer {
  accepted(result: AuthResult): void;
  refused(error: SotongError): void;
}

export type Outcome = { ok: true; data: unknown } | { ok: false; error: SotongError };

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
  private counted = false;
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

  /** The nonce the device must sign to sign in (sent in the hello; MQTT 5 sends it in AUTH). */
  get challengeNonce(): string {
    return this.challenge;
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
        return this.authenticate(frame, {
          accepted: (data) => this.send({ t: 'result', id: frame.id, data }),
          refused: (error) => this.sendError(error, frame.id),
        });
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
    if (this.counted) this.deps.users.disconnect(this.userId);
    if (this.actor) {
      this.deps.hub.removeSession(this);
      this.deps.presence.disconnected(this.actor.userId);
    }
  }

  private send(frame: ServerFrame): void {
    this.push(encodeFrame(frame));
  }

  /** The one sign-in step of every transport: token, then memberships, backlog after the cursors, live events. */
  async authenticate(frame: AuthRequest, answer: AuthAnswer): Promise<void> {
    if (this.actor) return answer.refused(new SotongError('bad_request', 'already authenticated'));
    if (frame.v !== PROTOCOL_VERSION) {
      answer.refused(new SotongError('unsupported_version', `this server speaks protocol ${PROTOCOL_VERSION}`));
      return this.close(CLOSE_CODES.authFailed, 'unsupported_version');
    }
    let authenticated;
    try {
      const proof = frame.presented ?? { claims: { kind: 'challenge' as const, transport: proofTransport(this.transport), nonce: this.challenge }, signature: frame.proof };
      authenticated = await this.deps.services.accounts.devices.authenticate(frame.token, proof, { address: this.sink.address ?? 'unknown' });
    } catch (err) {
      answer.refused(asSotongError(err, this.deps.log));
      return this.close(CLOSE_CODES.authFailed, 'unauthenticated');
    }
    if (this.closed) return;
    if (!this.deps.users.connect(authenticated.actor.userId)) {
      const max = this.deps.users.settings.maxConnectionsPerUser;
      answer.refused(new SotongError('rate_limited', `at most ${max} connections per user`, { maxConnectionsPerUser: max }));
      return this.close(CLOSE_CODES.rateLimited, 'too_many_connections');
    }
    this.counted = true;
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

    const cursors = (typeof frame.cursors === 'function' ? await frame.cursors(this.actor.userId) : frame.cursors) ?? {};
    const { events, truncated } = await services.messages.backlog(this.actor, cursors, seqs, limits.catchUpEventsPerChannel);
    const backlog = events.map((e) => encodeFrame({ t: 'event', e }));
    for (const [channelId, seq] of Object.entries(cursors)) this.lastSent.set(channelId, seq);
    for (const e of events) this.lastSent.set(e.channelId, e.seq);
    const result: AuthResult = {
      user: authenticated.user,
      sessionId: this.id,
      channels: Object.fromEntries(seqs),
      heartbeatMs: limits.heartbeatMs,
      truncated,
    };
    answer.accepted(result);
    for (const f of backlog) this.push(f);
    const held = this.held;
    this.held = null;
    for (const h of held) this.deliver(h.channelId, h.seq, h.frame);
  }

  private async command(id: string, name: string, args: unknown): Promise<void> {
    const outcome = await this.execute(name, args);
    if (outcome.ok) this.send({ t: 'result', id, data: outcome.data });
    else this.sendError(outcome.error, id);
  }

  /** Runs one command as this session's user, under its rate limits; the answer goes to the caller. */
  async execute(name: string, args: unknown): Promise<Outcome> {
    const { metrics } = this.deps;
    const label = isCommandName(name) ? name : 'unknown';
    if (!this.actor) return { ok: false, error: new SotongError('unauthenticated', 'send auth first') };
    if (!this.bucket.take()) {
      metrics.commands.inc({ command: label, outcome: 'rate_limited' });
      return { ok: false, error: new SotongError('rate_limited', 'too many commands on this connection; slow down', { perSecond: this.deps.limits.commandsPerSecond }) };
    }
    if (!this.deps.users.takeCommand(this.actor.userId)) {
      metrics.commands.inc({ command: label, outcome: 'rate_limited' });
      const perSecond = this.deps.users.settings.userCommandsPerSecond;
      return { ok: false, error: new SotongError('rate_limited', 'too many commands from this user; slow down', { perSecond, scope: 'user' }) };
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
      return { ok: true, data };
    } catch (err) {
      const error = asSotongError(err, this.deps.log);
      metrics.commands.inc({ command: label, outcome: error.code });
      return { ok: false, error };
    }
  }

  /**
   * Live events of a channel the user may read (checked by the one permission check), member or
   * not; returns the channel's newest seq at the time of the check.
   */
  async follow(channelId: string): Promise<number> {
    if (!this.actor) throw new SotongError('unauthenticated', 'send auth first');
    const view = await this.deps.services.channels.get(this.actor, channelId);
    if (!this.closed) this.deps.hub.subscribe(this, channelId);
    return view.lastSeq;
  }

  get workspaceId(): string {
    return this.actor?.workspaceId ?? '';
  }
}

/**
 * The transport named in a challenge proof: the protocol, not how it is carried (`tcp+tls` → `tcp`,
 * `mqtt+wss` → `mqtt`); the nonce alone already makes the proof good for one connection.
 */
export function proofTransport(label: string): string {
  return label.split('+')[0]!;
}

/** Typed errors pass through; anything else is logged and reported as internal, without its text. */
export function asSotongError(err: unknown, log: Logger): SotongError {
  if (err instanceof SotongError) return err;
  log.error({ err }, 'unexpected error');
  return new SotongError('internal', 'internal error');
}
