/**
 * The load generator: a child process of the orchestrator (forked with IPC), never the process
 * that runs a server. It receives one LoadgenRequest, opens its WebSocket connections with `ws`,
 * authenticates them, runs the workload, and sends back one LoadgenReport. The same code drives
 * the baseline and Sotong: only the URL and the tokens differ.
 *
 * Latency is measured in this one process (one clock): from just before `ws.send` of a
 * `message.send` command to the arrival of the matching `message.posted` event at a member
 * socket, matched through the clientMsgId (`${nonce}-${n}`; the text also carries the send time).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import type { AuthResult } from '@sotong/protocol';
import { TestDevice } from '@sotong/server/testing';
import {
  type CpuSummary,
  type DmJob,
  type FanoutJob,
  type Identity,
  type IdleJob,
  type LatencyJob,
  type LoadgenReport,
  type LoadgenRequest,
  pidsByName,
  readCpuSec,
  readRssBytes,
  round,
  Samples,
  sleep,
  tryCpuSec,
} from './common.js';

const POSTED = Buffer.from('"message.posted"');
const CLIENT_MSG_ID = Buffer.from('"clientMsgId":"');

/** Frame counters shared by every socket of a run. */
class Tally {
  other: Record<string, number> = {};
  closes: Record<string, number> = {};
  errors: Record<string, number> = {};
  add(map: Record<string, number>, key: string): void {
    map[key] = (map[key] ?? 0) + 1;
  }
}

/** What a socket's frame turned out to be, decoded as cheaply as possible. */
type Frame =
  | { kind: 'posted'; n: number }
  | { kind: 'hello'; challenge: string | undefined }
  | { kind: 'result'; id: string; data: unknown }
  | { kind: 'error'; id: string | undefined; code: string; message: string }
  | { kind: 'other' };

class Decoder {
  private readonly prefix: Buffer;
  constructor(
    nonce: string,
    private readonly tally: Tally,
  ) {
    this.prefix = Buffer.concat([CLIENT_MSG_ID, Buffer.from(`${nonce}-`)]);
  }

  /**
   * Deliveries are the hot path (up to hundreds of thousands a second): find our clientMsgId in
   * the raw bytes of a message.posted event instead of parsing the whole frame. Our message text
   * holds no quotes, so the marker cannot appear inside it. Everything else is parsed as JSON.
   */
  decode(buf: Buffer): Frame {
    if (buf.indexOf(POSTED) >= 0) {
      const at = buf.indexOf(this.prefix);
      if (at >= 0) {
        let n = 0;
        for (let i = at + this.prefix.length; i < buf.length; i++) {
          const c = buf[i]!;
          if (c < 48 || c > 57) break;
          n = n * 10 + (c - 48);
        }
        return { kind: 'posted', n };
      }
    }
    let frame: { t?: string; id?: string; data?: unknown; code?: string; message?: string; challenge?: string; e?: { type?: string }; s?: { kind?: string } };
    try {
      frame = JSON.parse(buf.toString()) as typeof frame;
    } catch {
      this.tally.add(this.tally.other, 'unparsable');
      return { kind: 'other' };
    }
    switch (frame.t) {
      case 'hello':
        return { kind: 'hello', challenge: frame.challenge };
      case 'result':
        return { kind: 'result', id: String(frame.id), data: frame.data };
      case 'error':
        this.tally.add(this.tally.errors, `${frame.code}: ${frame.message}`);
        return { kind: 'error', id: frame.id, code: String(frame.code), message: String(frame.message) };
      case 'event':
        this.tally.add(this.tally.other, `event:${frame.e?.type}`);
        return { kind: 'other' };
      case 'signal':
        this.tally.add(this.tally.other, `signal:${frame.s?.kind}`);
        return { kind: 'other' };
      default:
        this.tally.add(this.tally.other, String(frame.t));
        return { kind: 'other' };
    }
  }
}

type Handler = (frame: Frame, now: number) => void;

class Conn {
  handler: Handler = () => {};
  auth!: AuthResult;
  closed = false;
  /** We are closing it: its close is not an event worth reporting. */
  closing = false;
  constructor(
    readonly ws: WebSocket,
    readonly identity: Identity,
    readonly index: number,
  ) {}
  send(text: string): void {
    this.ws.send(text);
  }
}

class Failure extends Error {}

/**
 * Opens sockets for `identities` (one each), `concurrency` at a time, and authenticates them.
 * Rejects on the first socket that fails to authenticate.
 */
async function connectAll(req: LoadgenRequest, identities: Identity[], tally: Tally, decoder: Decoder): Promise<Conn[]> {
  const conns: Conn[] = new Array(identities.length);
  let next = 0;
  let failure: Error | null = null;
  const openOne = (index: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const identity = identities[index]!;
      const url = req.wsUrls?.length ? req.wsUrls[index % req.wsUrls.length]! : req.wsUrl;
      const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: 30_000 });
      const conn = new Conn(ws, identity, index);
      conns[index] = conn;
      const timer = setTimeout(() => reject(new Failure(`socket ${index}: no auth result within 30 s`)), 30_000);
      conn.handler = (frame) => {
        if (frame.kind === 'hello') {
          // The device proof signs this connection's challenge: ~50 µs of Ed25519 per socket.
          const proof = identity.device && frame.challenge ? TestDevice.import(identity.device).challengeProof(identity.token, frame.challenge) : undefined;
          ws.send(JSON.stringify({ t: 'auth', id: 'auth', v: 1, token: identity.token, ...(proof ? { proof } : {}) }));
        } else if (frame.kind === 'result' && frame.id === 'auth') {
          clearTimeout(timer);
          conn.auth = frame.data as AuthResult;
          conn.handler = () => {};
          resolve();
        } else if (frame.kind === 'error' && frame.id === 'auth') {
          clearTimeout(timer);
          reject(new Failure(`socket ${index}: auth failed: ${frame.code} ${frame.message}`));
        }
      };
      ws.on('message', (data: Buffer) => conn.handler(decoder.decode(data), performance.now()));
      ws.on('error', (err) => {
        tally.add(tally.errors, `socket: ${err.message}`);
        clearTimeout(timer);
        reject(new Failure(`socket ${index}: ${err.message}`));
      });
      ws.on('close', (code, reason) => {
        conn.closed = true;
        if (!conn.closing) tally.add(tally.closes, `${code}${reason.length ? ` ${reason.toString()}` : ''}`);
        clearTimeout(timer);
        reject(new Failure(`socket ${index} closed before auth: ${code} ${reason.toString()}`));
      });
    });
  const worker = async (): Promise<void> => {
    while (next < identities.length && !failure) {
      const index = next++;
      try {
        await openOne(index);
      } catch (err) {
        failure ??= err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.connectConcurrency, identities.length) }, worker));
  if (failure) {
    await closeAll(conns.filter(Boolean));
    throw failure;
  }
  return conns;
}

/** Application heartbeats: the server tells us its interval in the auth result. */
function startHeartbeats(conns: Conn[]): () => void {
  const ms = conns[0]?.auth?.heartbeatMs ?? 30_000;
  const timer = setInterval(() => {
    for (const c of conns) if (!c.closed) c.send('{"t":"ping"}');
  }, Math.max(1_000, Math.floor(ms / 2)));
  return () => clearInterval(timer);
}

async function closeAll(conns: Conn[]): Promise<void> {
  const open = conns.filter((c) => c && !c.closed);
  for (const c of open) c.closing = true;
  await Promise.race([
    Promise.all(
      open.map(
        (c) =>
          new Promise<void>((resolve) => {
            c.ws.once('close', () => resolve());
            c.ws.close(1000);
          }),
      ),
    ),
    sleep(5_000),
  ]);
  for (const c of open) if (!c.closed) c.ws.terminate();
}

/** After a window: let what is still in flight land (up to 2 s, so the next run starts from a quiet server), then hang up. */
async function windDown(inFlight: () => number, stopBeats: () => void, tl: Timeline, label: string, conns: Conn[]): Promise<void> {
  for (let i = 0; i < 40 && inFlight() > 0; i++) await sleep(50);
  stopBeats();
  tl.print(label);
  await closeAll(conns);
}

/** CPU of the server and of this process, between start() and stop(). */
let activeMeter: { stop(): unknown } | null = null;

function cpuMeter(req: LoadgenRequest): { stop(): CpuSummary } {
  const profile = req.profileWindow;
  const serverPids = req.serverPids?.length ? req.serverPids : [req.serverPid];
  if (profile) process.kill(req.serverPid, 'SIGUSR2');
  // Watched processes (PostgreSQL backends, nats-server): the ones alive at both ends of the window.
  const watched = (req.watchProcesses ?? []).map((name) => ({ name, start: new Map(pidsByName(name).map((pid) => [pid, tryCpuSec(pid)] as const)) }));
  const t0 = performance.now();
  const s0 = serverPids.map((pid) => readCpuSec(pid));
  const l0 = process.cpuUsage();
  return (activeMeter = {
    stop() {
      activeMeter = null;
      const sec = (performance.now() - t0) / 1000;
      const byNode = serverPids.map((pid, i) => round((((tryCpuSec(pid) ?? s0[i]!) - s0[i]!) / sec) * 100, 1));
      const l = process.cpuUsage(l0);
      if (profile) process.kill(req.serverPid, 'SIGUSR2');
      const summary: CpuSummary = {
        serverPct: round(byNode.reduce((a, b) => a + b, 0), 1),
        loadgenPct: round(((l.user + l.system) / 1e6 / sec) * 100, 1),
      };
      if (serverPids.length > 1) summary.serverPctByNode = byNode;
      if (watched.length) {
        summary.others = {};
        for (const w of watched) {
          let used = 0;
          for (const [pid, start] of w.start) {
            const end = tryCpuSec(pid);
            if (start !== undefined && end !== undefined) used += end - start;
          }
          summary.others[w.name] = round((used / sec) * 100, 1);
        }
      }
      return summary;
    },
  });
}

/**
 * Debugging aid (BENCH_TIMELINE=1): per 100 ms of the run, deliveries and worst latency, printed
 * to stderr, to tell a steady backlog from a pause.
 */
class Timeline {
  private readonly enabled = process.env.BENCH_TIMELINE === '1';
  private readonly t0 = performance.now();
  private readonly count: number[] = [];
  private readonly worst: number[] = [];
  add(now: number, latencyMs: number): void {
    if (!this.enabled) return;
    const b = Math.floor((now - this.t0) / 100);
    this.count[b] = (this.count[b] ?? 0) + 1;
    this.worst[b] = Math.max(this.worst[b] ?? 0, latencyMs);
  }
  print(label: string): void {
    if (!this.enabled) return;
    const rows: string[] = [];
    for (let b = 0; b < this.count.length; b++) rows.push(`${(b / 10).toFixed(1)}s:${this.count[b] ?? 0}/${Math.round(this.worst[b] ?? 0)}ms`);
    process.stderr.write(`[timeline ${label}] ${rows.join(' ')}\n`);
  }
}

/** A growable array of send times, indexed by message number. */
class SendTimes {
  private buf = new Float64Array(1 << 16);
  set(n: number, t: number): void {
    while (n >= this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[n] = t;
  }
  get(n: number): number {
    return n < this.buf.length ? this.buf[n]! : Number.NaN;
  }
}

/**
 * The measurement window: [warmup, warmup + window) seconds after the load starts. Deliveries and
 * latencies count only when they arrive inside it.
 */
class Window {
  start = Number.POSITIVE_INFINITY;
  end = Number.POSITIVE_INFINITY;
  open(now: number, windowSec: number): void {
    this.start = now;
    this.end = now + windowSec * 1000;
  }
  has(now: number): boolean {
    return now >= this.start && now < this.end;
  }
}

/** Runs the load until the window closes; fails when no progress was seen for stallSec. */
async function drive(
  req: LoadgenRequest,
  timing: { warmupSec: number; windowSec: number },
  win: Window,
  progress: () => number,
  describeStall: () => string,
  onWindowOpen: () => void,
): Promise<void> {
  const t0 = performance.now();
  let lastProgress = progress();
  let lastProgressAt = t0;
  let opened = false;
  for (;;) {
    await sleep(50);
    const now = performance.now();
    if (!opened && now - t0 >= timing.warmupSec * 1000) {
      win.open(now, timing.windowSec);
      onWindowOpen();
      opened = true;
    }
    if (opened && now >= win.end) return;
    const p = progress();
    if (p !== lastProgress) {
      lastProgress = p;
      lastProgressAt = now;
    } else if (now - lastProgressAt > req.stallSec * 1000) {
      throw new Failure(`stalled: no progress for ${req.stallSec} s; ${describeStall()}`);
    }
  }
}

function watchCloses(conns: Conn[], fail: (why: string) => void): void {
  for (const c of conns) {
    c.ws.on('close', (code, reason) => c.closing || fail(`socket ${c.index} (${c.identity.userId}) closed: ${code} ${reason.toString()}`));
  }
}

async function runFanout(req: LoadgenRequest, job: FanoutJob, tally: Tally, decoder: Decoder): Promise<Partial<LoadgenReport>> {
  const t0 = performance.now();
  const conns = await connectAll(req, job.members, tally, decoder);
  const connectSec = (performance.now() - t0) / 1000;
  const stopBeats = startHeartbeats(conns);
  const sender = conns[0]!;
  const others = conns.length - 1;
  const sentAt = new SendTimes();
  const inflight = new Map<number, { acked: boolean; got: number }>();
  const win = new Window();
  const lat = new Samples();
  const tl = new Timeline();
  let deliveries = 0;
  let echoes = 0;
  let completed = 0;
  let completedInWindow = 0;
  let n = 0;
  let sending = true;
  let broken: string | null = null;

  const complete = (m: number, now: number): void => {
    inflight.delete(m);
    completed++;
    if (win.has(now)) completedInWindow++;
    pump();
  };
  const pump = (): void => {
    while (sending && inflight.size < job.window) {
      const m = n++;
      inflight.set(m, { acked: false, got: 0 });
      const now = performance.now();
      sentAt.set(m, now);
      sender.send(
        JSON.stringify({ t: 'cmd', id: `m${m}`, cmd: 'message.send', args: { channelId: job.channelId, clientMsgId: `${req.nonce}-${m}`, text: `bench ${m} at ${Date.now()}` } }),
      );
    }
  };
  for (const c of conns) {
    const isSender = c === sender;
    c.handler = (frame, now) => {
      if (frame.kind === 'posted') {
        if (isSender) {
          echoes++;
          return;
        }
        tl.add(now, now - sentAt.get(frame.n));
        if (win.has(now)) {
          deliveries++;
          lat.push(now - sentAt.get(frame.n));
        }
        const p = inflight.get(frame.n);
        if (p && ++p.got === others && p.acked) complete(frame.n, now);
      } else if (isSender && frame.kind === 'result' && frame.id.startsWith('m')) {
        const m = Number(frame.id.slice(1));
        const p = inflight.get(m);
        if (p) {
          p.acked = true;
          if (p.got === others) complete(m, now);
        }
      } else if (isSender && frame.kind === 'error') {
        broken ??= `message.send failed: ${frame.code} ${frame.message}`;
      }
    };
  }
  watchCloses(conns, (why) => (broken ??= why));
  pump();
  let meter: ReturnType<typeof cpuMeter> | undefined;
  await drive(
    req,
    job,
    win,
    () => {
      if (broken) throw new Failure(broken);
      return completed;
    },
    () => `in flight: ${[...inflight].map(([m, p]) => `#${m} acked=${p.acked} delivered ${p.got}/${others}`).join(', ')}`,
    () => (meter = cpuMeter(req)),
  );
  const cpu = meter!.stop();
  sending = false;
  await windDown(() => inflight.size, stopBeats, tl, `${req.target} ${job.kind}`, conns);
  return {
    connectSec: round(connectSec),
    deliveriesPerSec: round(deliveries / job.windowSec, 0),
    messagesPerSec: round(completedInWindow / job.windowSec, 1),
    latency: lat.summary(),
    cpu,
    otherFrames: { ...tally.other, echoesToSender: echoes },
  };
}

async function runDm(req: LoadgenRequest, job: DmJob, tally: Tally, decoder: Decoder): Promise<Partial<LoadgenReport>> {
  const t0 = performance.now();
  const identities = job.pairs.flatMap((p) => [p.a, p.b]);
  const conns = await connectAll(req, identities, tally, decoder);
  const connectSec = (performance.now() - t0) / 1000;
  const stopBeats = startHeartbeats(conns);
  const sentAt = new SendTimes();
  /** message number → [pair index, sent by a?, acked, delivered to the peer] */
  const inflight = new Map<number, { pair: number; fromA: boolean; acked: boolean; delivered: boolean }>();
  const perPair = new Int32Array(job.pairs.length);
  const nextFromA = job.pairs.map(() => true);
  const win = new Window();
  const lat = new Samples();
  const tl = new Timeline();
  let delivered = 0;
  let echoes = 0;
  let completed = 0;
  let n = 0;
  let sending = true;
  let broken: string | null = null;

  const pump = (pair: number): void => {
    const p = job.pairs[pair]!;
    while (sending && perPair[pair]! < job.window) {
      const m = n++;
      const fromA = nextFromA[pair]!;
      nextFromA[pair] = !fromA;
      perPair[pair]!++;
      inflight.set(m, { pair, fromA, acked: false, delivered: false });
      const conn = conns[pair * 2 + (fromA ? 0 : 1)]!;
      sentAt.set(m, performance.now());
      conn.send(
        JSON.stringify({ t: 'cmd', id: `m${m}`, cmd: 'message.send', args: { channelId: p.channelId, clientMsgId: `${req.nonce}-${m}`, text: `bench ${m} at ${Date.now()}` } }),
      );
    }
  };
  const complete = (m: number, pair: number): void => {
    inflight.delete(m);
    perPair[pair]!--;
    completed++;
    pump(pair);
  };
  conns.forEach((c, i) => {
    const isA = i % 2 === 0;
    c.handler = (frame, now) => {
      if (frame.kind === 'posted') {
        const p = inflight.get(frame.n);
        // After completion only the sender's own copy can still arrive.
        if (!p || p.fromA === isA) {
          echoes++;
          return;
        }
        if (p.delivered) return;
        p.delivered = true;
        tl.add(now, now - sentAt.get(frame.n));
        if (win.has(now)) {
          delivered++;
          lat.push(now - sentAt.get(frame.n));
        }
        if (p.acked) complete(frame.n, p.pair);
      } else if (frame.kind === 'result' && frame.id.startsWith('m')) {
        const m = Number(frame.id.slice(1));
        const p = inflight.get(m);
        if (p) {
          p.acked = true;
          if (p.delivered) complete(m, p.pair);
        }
      } else if (frame.kind === 'error') {
        broken ??= `socket ${i}: ${frame.code} ${frame.message}`;
      }
    };
  });
  watchCloses(conns, (why) => (broken ??= why));
  for (let pair = 0; pair < job.pairs.length; pair++) pump(pair);
  let meter: ReturnType<typeof cpuMeter> | undefined;
  await drive(
    req,
    job,
    win,
    () => {
      if (broken) throw new Failure(broken);
      return completed;
    },
    () => `${inflight.size} in flight, e.g. ${[...inflight].slice(0, 5).map(([m, p]) => `#${m} pair ${p.pair} acked=${p.acked} delivered=${p.delivered}`).join(', ')}`,
    () => (meter = cpuMeter(req)),
  );
  const cpu = meter!.stop();
  sending = false;
  await windDown(() => inflight.size, stopBeats, tl, `${req.target} ${job.kind}`, conns);
  return {
    connectSec: round(connectSec),
    messagesPerSec: round(delivered / job.windowSec, 0),
    latency: lat.summary(),
    cpu,
    otherFrames: { ...tally.other, echoesToSender: echoes },
  };
}

async function runLatency(req: LoadgenRequest, job: LatencyJob, tally: Tally, decoder: Decoder): Promise<Partial<LoadgenReport>> {
  const t0 = performance.now();
  const conns = await connectAll(req, job.members, tally, decoder);
  const connectSec = (performance.now() - t0) / 1000;
  const stopBeats = startHeartbeats(conns);
  const senders = Math.min(job.senders, conns.length);
  const sentAt = new SendTimes();
  const unacked = new Set<number>();
  const win = new Window();
  const lat = new Samples();
  const tl = new Timeline();
  let deliveries = 0;
  let echoes = 0;
  let acks = 0;
  let sentInWindow = 0;
  let skipped = 0;
  let maxInFlight = 0;
  let n = 0;
  let broken: string | null = null;

  conns.forEach((c, i) => {
    c.handler = (frame, now) => {
      if (frame.kind === 'posted') {
        if (frame.n % senders === i) {
          echoes++;
          return;
        }
        tl.add(now, now - sentAt.get(frame.n));
        if (win.has(now)) {
          deliveries++;
          lat.push(now - sentAt.get(frame.n));
        }
      } else if (frame.kind === 'result' && frame.id.startsWith('m')) {
        if (unacked.delete(Number(frame.id.slice(1)))) acks++;
      } else if (frame.kind === 'error') {
        broken ??= `socket ${i}: ${frame.code} ${frame.message}`;
      }
    };
  });
  watchCloses(conns, (why) => (broken ??= why));

  // Paced open loop: message k is due at start + k / rate; a late timer sends all that are due.
  const intervalMs = 1000 / job.ratePerSec;
  const start = performance.now();
  let due = 0;
  let pacing = true;
  const tick = (): void => {
    if (!pacing) return;
    const now = performance.now();
    while (start + due * intervalMs <= now) {
      due++;
      if (unacked.size >= job.maxInFlight) {
        skipped++;
        continue;
      }
      const m = n++;
      const conn = conns[m % senders]!;
      unacked.add(m);
      maxInFlight = Math.max(maxInFlight, unacked.size);
      const t = performance.now();
      sentAt.set(m, t);
      if (win.has(t)) sentInWindow++;
      conn.send(
        JSON.stringify({ t: 'cmd', id: `m${m}`, cmd: 'message.send', args: { channelId: job.channelId, clientMsgId: `${req.nonce}-${m}`, text: `bench ${m} at ${Date.now()}` } }),
      );
    }
    setTimeout(tick, Math.max(0, start + due * intervalMs - performance.now()));
  };
  tick();
  let meter: ReturnType<typeof cpuMeter> | undefined;
  await drive(
    req,
    job,
    win,
    () => {
      if (broken) throw new Failure(broken);
      return acks;
    },
    () => `${unacked.size} messages unacked`,
    () => (meter = cpuMeter(req)),
  );
  const cpu = meter!.stop();
  pacing = false;
  await windDown(() => unacked.size, stopBeats, tl, `${req.target} ${job.kind}`, conns);
  return {
    connectSec: round(connectSec),
    sentPerSec: round(sentInWindow / job.windowSec, 0),
    deliveriesPerSec: round(deliveries / job.windowSec, 0),
    latency: lat.summary(),
    cpu,
    overloaded: skipped > 0,
    maxInFlight,
    otherFrames: { ...tally.other, echoesToSender: echoes, skippedSends: skipped },
  };
}

async function runIdle(req: LoadgenRequest, job: IdleJob, tally: Tally, decoder: Decoder): Promise<Partial<LoadgenReport>> {
  const identities = Array.from({ length: job.connections }, (_, i) => job.identities[i % job.identities.length]!);
  const half = Math.floor(identities.length / 2);
  const rssBeforeBytes = readRssBytes(req.serverPid);
  const t0 = performance.now();
  // Two steps: the second half's growth is the marginal cost, after any slack in the server's
  // heap was used up by the first half.
  const first = await connectAll(req, identities.slice(0, half), tally, decoder);
  const stopFirst = startHeartbeats(first);
  await sleep(job.settleSec * 1000);
  const rssHalfBytes = readRssBytes(req.serverPid);
  const second = await connectAll(req, identities.slice(half), tally, decoder);
  const connectSec = (performance.now() - t0) / 1000 - job.settleSec;
  const conns = [...first, ...second];
  const stopSecond = startHeartbeats(second);
  await sleep(job.settleSec * 1000);
  const open = conns.filter((c) => !c.closed).length;
  const rssAfterBytes = readRssBytes(req.serverPid);
  stopFirst();
  stopSecond();
  await closeAll(conns);
  return {
    connectSec: round(connectSec),
    connections: open,
    rssBeforeBytes,
    rssAfterBytes,
    rssBytesPerConnection: Math.round((rssAfterBytes - rssBeforeBytes) / open),
    rssMarginalBytesPerConnection: Math.round((rssAfterBytes - rssHalfBytes) / (identities.length - half)),
    otherFrames: tally.other,
  };
}

async function run(req: LoadgenRequest): Promise<LoadgenReport> {
  const tally = new Tally();
  const decoder = new Decoder(req.nonce, tally);
  const base = { target: req.target, kind: req.job.kind };
  try {
    let r: Partial<LoadgenReport>;
    switch (req.job.kind) {
      case 'fanout':
        r = await runFanout(req, req.job, tally, decoder);
        break;
      case 'dm':
        r = await runDm(req, req.job, tally, decoder);
        break;
      case 'latency':
        r = await runLatency(req, req.job, tally, decoder);
        break;
      case 'idle':
        r = await runIdle(req, req.job, tally, decoder);
        break;
    }
    return { ok: true, ...base, ...r, closes: tally.closes, errors: tally.errors };
  } catch (err) {
    // A run that failed inside its window still ends the server's profile.
    activeMeter?.stop();
    return { ok: false, error: err instanceof Error ? err.message : String(err), ...base, closes: tally.closes, errors: tally.errors };
  }
}

process.once('message', (req: LoadgenRequest) => {
  void run(req).then((report) => {
    process.send!(report, () => process.exit(0));
  });
});
// The orchestrator went away: nothing left to report to.
process.on('disconnect', () => process.exit(0));
