/**
 * Shared between the orchestrator (run.ts), the load generator (loadgen.ts) and the baseline
 * server: the job description the orchestrator hands a load generator, the report it gets back,
 * and small helpers (percentiles, /proc readers).
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * One authenticated identity: the socket sends `{t:'auth', token, proof}`; `userId` is who that is.
 * `device`: the private key of the device the token is bound to (PKCS #8, base64), to sign the
 * hello's challenge with; absent for the baseline, which asks no proof.
 */
export interface Identity {
  userId: string;
  token: string;
  device?: string;
}

export interface Timing {
  /** Seconds of load before the measurement window opens (caches, JIT, TCP windows warm up). */
  warmupSec: number;
  /** Seconds in the measurement window. */
  windowSec: number;
}

/** 1 channel, every member connected, one sender keeping `window` messages in flight. */
export interface FanoutJob extends Timing {
  kind: 'fanout';
  channelId: string;
  /** members[0] is the sender. */
  members: Identity[];
  /** Messages in flight: sent but not yet acked AND received by every other member. */
  window: number;
}

/** DM pairs; each pair keeps `window` messages in flight, the direction alternates. */
export interface DmJob extends Timing {
  kind: 'dm';
  pairs: { channelId: string; a: Identity; b: Identity }[];
  window: number;
}

/** A paced open loop: `ratePerSec` messages in, spread over `senders` of the members. */
export interface LatencyJob extends Timing {
  kind: 'latency';
  channelId: string;
  members: Identity[];
  senders: number;
  ratePerSec: number;
  /** Stop sending (and flag `overloaded`) when this many messages await their ack. */
  maxInFlight: number;
}

/** Open `connections` sockets over the identities (round robin), authenticate, hold them idle. */
export interface IdleJob {
  kind: 'idle';
  identities: Identity[];
  connections: number;
  /** Seconds to wait after the last socket authenticated, before reading the server's RSS. */
  settleSec: number;
}

export type Job = FanoutJob | DmJob | LatencyJob | IdleJob;

export interface LoadgenRequest {
  target: string;
  wsUrl: string;
  serverPid: number;
  /**
   * Cluster runs: the nodes' socket URLs; socket i (identity i) connects to wsUrls[i % n], so
   * members[0] (the fan-out sender) is on the first node and the others alternate.
   */
  wsUrls?: string[];
  /** Cluster runs: every node's pid; `cpu.serverPct` is their sum, `cpu.serverPctByNode` each. */
  serverPids?: number[];
  /** Other processes whose CPU to report over the window, by command name (e.g. postgres, nats-server). */
  watchProcesses?: string[];
  /** Unique per run: clientMsgIds are `${nonce}-${n}` so retries never dedupe across runs. */
  nonce: string;
  /** Sockets being opened at once while connecting. */
  connectConcurrency: number;
  /** Give up on a run that makes no progress for this long. */
  stallSec: number;
  /** Send SIGUSR2 to the server when the window opens and closes (cpu-profile.ts toggles). */
  profileWindow: boolean;
  job: Job;
}

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface CpuSummary {
  /** Server process CPU over the measurement window, in % of one core (all its threads). */
  serverPct: number;
  /** Load generator CPU over the window, in % of one core. */
  loadgenPct: number;
  /** Cluster runs: each node's CPU (serverPct is their sum). */
  serverPctByNode?: number[];
  /** CPU of the watched processes (all processes of that command name on this machine), % of one core. */
  others?: Record<string, number>;
}

export interface LoadgenReport {
  ok: boolean;
  error?: string;
  target: string;
  kind: Job['kind'];
  connectSec?: number;
  /** Fan-out / latency: message.posted frames received by member sockets in the window (/s). */
  deliveriesPerSec?: number;
  /** Messages completed (acked and delivered) in the window (/s). */
  messagesPerSec?: number;
  /** Latency100: messages sent in the window (/s). */
  sentPerSec?: number;
  latency?: LatencySummary;
  cpu?: CpuSummary;
  /** Frames other than our message.posted events and acks, by kind (e.g. `signal:presence`). */
  otherFrames?: Record<string, number>;
  /** Latency job: the in-flight cap was hit (the server could not keep up with the rate). */
  overloaded?: boolean;
  maxInFlight?: number;
  /** Idle job. */
  connections?: number;
  rssBeforeBytes?: number;
  rssAfterBytes?: number;
  rssBytesPerConnection?: number;
  /** RSS growth per connection over the second half of the connections only. */
  rssMarginalBytesPerConnection?: number;
  /** Closed sockets during the run, by close code. */
  closes?: Record<string, number>;
  errors?: Record<string, number>;
  /** Server's own metrics over the whole run (connect to close), when it exposes them. */
  serverMetrics?: Record<string, number | { count: number; mean: number }>;
  /** Cluster runs with several nodes: each node's metrics (serverMetrics is the first node's). */
  serverMetricsByNode?: Record<string, number | { count: number; mean: number }>[];
}

/** Percentile of an ascending-sorted array (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Resident set size of a process, from /proc/<pid>/status (VmRSS), in bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Clock ticks per second for /proc/<pid>/stat; 100 on every Linux this runs on (getconf CLK_TCK). */
const CLK_TCK = 100;

/** CPU seconds (user + system, all threads) a process has used so far. */
export function readCpuSec(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces: parse after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** A growable Float64Array: pushing a million latencies must not allocate a million boxes. */
export class Samples {
  private buf = new Float64Array(1 << 16);
  length = 0;
  push(x: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = x;
  }
  summary(): LatencySummary {
    const s = this.buf.slice(0, this.length).sort();
    return {
      count: s.length,
      p50Ms: round(percentile(s, 50), 3),
      p90Ms: round(percentile(s, 90), 3),
      p99Ms: round(percentile(s, 99), 3),
      maxMs: round(s.length ? s[s.length - 1]! : Number.NaN, 3),
    };
  }
}

/** Pids of every process whose command name (/proc/<pid>/comm) is `name`. */
export function pidsByName(name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) out.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** CPU seconds of a process, or undefined when it is gone. */
export function tryCpuSec(pid: number): number | undefined {
  try {
    return readCpuSec(pid);
  } catch {
    return undefined;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const T0 = Date.now();
export function log(...parts: unknown[]): void {
  process.stderr.write(`[bench ${((Date.now() - T0) / 1000).toFixed(1).padStart(5)}s] ${parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ')}\n`);
}
