import { randomBytes } from 'node:crypto';
import { CLOSE_CODES, SotongError } from '@sotong/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { proveRequestDevice } from '../http/device-auth.js';
import { encodeFrame } from '../realtime/hub.js';
import { Session, type SessionDeps, type Sink } from '../realtime/session.js';
import { decodeClientFrame } from './codec.js';

export const LONG_POLL_PREFIX = '/lp';

export interface LongPollOptions {
  holdMs: number;
  idleTimeoutMs: number;
}

/** How long a closed channel keeps its last frames (the `close` frame among them) for a final poll. */
const LINGER_MS = 10_000;

interface Waiting {
  from: number;
  reply: FastifyReply;
  timer: NodeJS.Timeout;
}

/**
 * One long-poll connection: the frames the session wrote, numbered from 0, kept until the client
 * acknowledges them by polling from a later number — so a poll answer lost on the way is sent again.
 */
class LongPollChannel implements Sink {
  readonly id = randomBytes(18).toString('base64url');
  session!: Session;
  lastHeard = Date.now();
  closed = false;
  private frames: Buffer[] = [];
  private first = 0;
  private bytes = 0;
  private waiting: Waiting | undefined;
  private wakeScheduled = false;

  send(frame: Buffer): void {
    if (this.closed) return;
    this.frames.push(frame);
    this.bytes += frame.byteLength;
    this.scheduleWake();
  }

  bufferedBytes(): number {
    return this.bytes;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.send(encodeFrame({ t: 'close', code, reason }));
    this.closed = true;
  }

  /** Answers at once when frames from `from` on are queued, or when some arrive within `holdMs`. */
  poll(from: number, holdMs: number, reply: FastifyReply): void {
    this.lastHeard = Date.now();
    this.acknowledge(from);
    this.answer(); // a newer poll replaces an older one
    const timer = setTimeout(() => this.answer(), holdMs);
    this.waiting = { from, reply, timer };
    if (this.frames.length > 0 && this.first + this.frames.length > from) this.scheduleWake();
  }

  private acknowledge(from: number): void {
    while (this.first < from && this.frames.length > 0) {
      this.bytes -= this.frames.shift()!.byteLength;
      this.first += 1;
    }
  }

  /** Frames written in one turn of the event loop leave in one answer. */
  private scheduleWake(): void {
    if (this.wakeScheduled || !this.waiting) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.answer();
    });
  }

  private answer(): void {
    const waiting = this.waiting;
    if (!waiting) return;
    this.waiting = undefined;
    clearTimeout(waiting.timer);
    const start = Math.max(0, waiting.from - this.first);
    const frames = this.frames.slice(start);
    const next = this.first + this.frames.length;
    // The frames are JSON already: join them, do not parse and re-encode.
    const body = Buffer.concat([Buffer.from(`{"next":${next},"frames":[`), ...frames.flatMap((f, i) => (i === 0 ? [f] : [COMMA, f])), END]);
    void waiting.reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'no-store').send(body);
  }

  /** Ends a held poll (server shutdown) with whatever is queued. */
  release(): void {
    this.answer();
  }
}

/**
 * A poll is the transport's delivery of frames, not an API call: logged at info it would write two
 * access-log lines per answer, for every member, at every message (a measurable share of the
 * server's time). Failures are still logged; refused proofs are audited.
 */
const POLL_LOG_LEVEL = 'warn';

const COMMA = Buffer.from(',');
const END = Buffer.from(']}');

export interface LongPollTransport {
  sessions: Set<Session>;
  close(): Promise<void>;
}

/**
 * HTTP long-polling: the same frames as the WebSocket, in both directions, over plain requests.
 *   POST /lp            → {id}: a new connection; its first frame (hello) waits for the first poll.
 *   POST /lp/:id/send   one client frame as the body (auth, cmd, ping) → 202; answers arrive by poll.
 *   GET  /lp/:id/poll?from=N  frames numbered N and later, held up to holdMs until there are any.
 *   DELETE /lp/:id      close.
 * The connection id is unguessable; once signed in (the auth frame signs the hello's challenge),
 * every request on it must also carry the REST device proof (`Authorization` +
 * `Sotong-Device-Proof`) of the device that signed in.
 */
export function registerLongPoll(app: FastifyInstance, deps: SessionDeps, options: LongPollOptions): LongPollTransport {
  const { limits, metrics } = deps;
  const channels = new Map<string, LongPollChannel>();
  const sessions = new Set<Session>();
  const notFound = () => new SotongError('not_found', 'no such long-poll connection; open a new one');

  const live = (id: string): LongPollChannel => {
    const channel = channels.get(id);
    if (!channel) throw notFound();
    return channel;
  };

  /** After sign-in, the request must be proved by the session's own device, as a REST request is. */
  const proved = async (channel: LongPollChannel, request: FastifyRequest) => {
    const deviceId = channel.session.deviceId;
    if (!deviceId) return;
    if ((await proveRequestDevice(deps.services, request)) !== deviceId) throw new SotongError('forbidden', 'this long-poll connection belongs to another device');
  };

  const ended = (channel: LongPollChannel) => {
    if (!sessions.delete(channel.session)) return;
    metrics.connections.dec({ transport: 'long-poll' });
    channel.session.onClosed();
    setTimeout(() => {
      channel.release();
      channels.delete(channel.id);
    }, LINGER_MS).unref();
  };

  // Nothing heard (no poll, no send) for idleTimeoutMs: the client is gone.
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const channel of channels.values()) {
      if (!channel.closed && now - channel.lastHeard > options.idleTimeoutMs) channel.session.close(CLOSE_CODES.idleTimeout, 'idle_timeout');
      if (channel.closed) ended(channel);
    }
  }, Math.min(1000, options.idleTimeoutMs / 2));
  sweeper.unref();

  void app.register(async (scope) => {
    // Client frames are decoded by the same codec as on every other transport, from the raw bytes.
    scope.removeContentTypeParser(['application/json', 'text/plain']);
    scope.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer', bodyLimit: limits.maxFrameBytes }, (_req, body, done) => done(null, body));

    scope.post(LONG_POLL_PREFIX, { schema: { hide: true } }, async (_request, reply) => {
      const channel = new LongPollChannel();
      channel.session = new Session(channel, deps, 'long-poll');
      channels.set(channel.id, channel);
      sessions.add(channel.session);
      metrics.connections.inc({ transport: 'long-poll' });
      return reply.status(201).send({ id: channel.id, holdMs: options.holdMs });
    });

    scope.post<{ Params: { id: string } }>(`${LONG_POLL_PREFIX}/:id/send`, { schema: { hide: true } }, async (request, reply) => {
      const channel = live(request.params.id);
      if (channel.closed) throw notFound();
      await proved(channel, request);
      channel.lastHeard = Date.now();
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const decoded = decodeClientFrame(body, limits.maxFrameBytes);
      if (decoded.ok) void channel.session.handle(decoded.frame);
      else channel.session.sendError(decoded.error, decoded.requestId);
      if (channel.closed) ended(channel);
      return reply.status(202).send({});
    });

    scope.get<{ Params: { id: string }; Querystring: { from?: string; wait?: string } }>(`${LONG_POLL_PREFIX}/:id/poll`, { schema: { hide: true }, logLevel: POLL_LOG_LEVEL }, async (request, reply) => {
      const channel = live(request.params.id);
      await proved(channel, request);
      const from = Number(request.query.from ?? 0);
      const wait = request.query.wait === undefined ? options.holdMs : Math.min(options.holdMs, Number(request.query.wait));
      if (!Number.isSafeInteger(from) || from < 0 || !Number.isFinite(wait) || wait < 0) {
        throw new SotongError('bad_request', 'from and wait are non-negative integers');
      }
      channel.poll(from, channel.closed ? 0 : wait, reply);
      if (channel.closed) ended(channel);
      return reply;
    });

    scope.delete<{ Params: { id: string } }>(`${LONG_POLL_PREFIX}/:id`, { schema: { hide: true } }, async (request, reply) => {
      const channel = live(request.params.id);
      await proved(channel, request);
      channel.session.close(CLOSE_CODES.normal, 'closed_by_client');
      ended(channel);
      return reply.status(204).send();
    });
  });

  return {
    sessions,
    async close() {
      clearInterval(sweeper);
      for (const channel of channels.values()) {
        channel.session.close(CLOSE_CODES.goingAway, 'server_shutdown');
        channel.release();
        ended(channel);
      }
    },
  };
}
