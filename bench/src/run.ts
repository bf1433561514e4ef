/**
 * The orchestrator: `npm run bench [-- --quick]`.
 *
 * Starts the Sotong server (through `@sotong/server/testing`) and the baseline server, each in
 * its own process, creates users and channels, then forks one load generator process per
 * (scenario, target, repetition), interleaving the targets so both see the same machine noise.
 * Prints ONE JSON object on stdout (progress goes to stderr) and writes it to
 * bench/results/<timestamp>.json.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Identity,
  type Job,
  type LoadgenReport,
  type LoadgenRequest,
  log,
  median,
  readCpuSec,
  round,
  sleep,
} from './common.js';
import {
  createChannel,
  metricsDelta,
  openDms,
  probeTcp,
  scrapeMetrics,
  startBaselineTarget,
  startSotongTarget,
  type Target,
  type TargetOptions,
} from './targets.js';
import { runTransportScenarios } from './transport-scenarios.js';
import { atRestReport, measureAtRestSearch, runAtRestIngest, type AtRestSearch } from './at-rest.js';

// ---------------------------------------------------------------------------------------------
// Options

interface Config {
  mode: 'quick' | 'full';
  reps: number;
  warmupSec: number;
  windowSec: number;
  fanoutMembers: number;
  fanoutWindow: number;
  dmPairs: number;
  dmWindow: number;
  latencyMembers: number;
  latencyRate: number;
  latencySenders: number;
  idleConnections: number;
  idleUsers: number;
  idleSettleSec: number;
  connectConcurrency: number;
  stallSec: number;
}

const USAGE = `usage: node bench/dist/src/run.js [--quick] [options]
  --quick                  short windows, 1 repetition, 2,000 idle connections (< 1 minute)
  --reps N                 repetitions (full: 3; medians are reported)
  --window S --warmup S    measurement window / warm-up seconds per run
  --only baseline|sotong   run one target (ratios are then null)
  --scenarios LIST         comma list of fanout,dm,latency100,idle,cluster,mqtt,longpoll,atrest (default: all)
                           mqtt: fan-out to 1,000 MQTT subscribers, beside Mosquitto at 127.0.0.1:1883;
                           longpoll: delivery p99 at 100 msg/s into 100 long-polling members;
                           atrest: DM ingest with encryption at rest on vs off, and search
                           latency on 1,000,000 encrypted messages (quick: 50,000; cached)
                           cluster: fan-out (and DM) on PostgreSQL + NATS, 1 and 2 nodes;
                           it needs the SQLite fan-out for its ratio, so it adds fanout
  --pg-url URL             PostgreSQL for cluster (default postgres://postgres@127.0.0.1:5432/test)
  --nats-url URL           NATS for cluster (default nats://127.0.0.1:4222)
  --idle-connections N     idle sockets (full: 10000, quick: 2000)
  --fanout-window K        fan-out messages in flight (default 4)
  --dm-window K            messages in flight per DM pair (default 1)
  --latency-rate R         latency100 messages/s in (default 1000)
  --latency-senders N      latency100 senders sharing that rate (default 10)
  --self-test              run the baseline in Sotong's place: ratios should be ~1.0
  --server-env K=V         extra environment for the Sotong server (repeatable)
  --profile DIR            CPU-profile both servers; <name>-<pid>.cpuprofile files land in DIR
  --no-save                do not write bench/results/<timestamp>.json`;

function parseArgs(argv: string[]) {
  const args = {
    quick: false,
    only: null as null | 'baseline' | 'sotong',
    selfTest: false,
    save: true,
    profile: null as string | null,
    serverEnv: {} as Record<string, string>,
    scenarios: new Set(['fanout', 'dm', 'latency100', 'idle', 'cluster', 'mqtt', 'longpoll', 'atrest']),
    pgUrl: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    natsUrl: process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
    overrides: {} as Partial<Config>,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const num = (): number => {
      const v = Number(value());
      if (!Number.isFinite(v) || v <= 0) throw new Error(`${a} needs a positive number`);
      return v;
    };
    switch (a) {
      case '--quick': args.quick = true; break;
      case '--reps': args.overrides.reps = Math.round(num()); break;
      case '--window': args.overrides.windowSec = num(); break;
      case '--warmup': args.overrides.warmupSec = num(); break;
      case '--idle-connections': args.overrides.idleConnections = Math.round(num()); break;
      case '--fanout-window': args.overrides.fanoutWindow = Math.round(num()); break;
      case '--dm-window': args.overrides.dmWindow = Math.round(num()); break;
      case '--latency-rate': args.overrides.latencyRate = num(); break;
      case '--latency-senders': args.overrides.latencySenders = Math.round(num()); break;
      case '--only': {
        const v = value();
        if (v !== 'baseline' && v !== 'sotong') throw new Error(`--only baseline|sotong`);
        args.only = v;
        break;
      }
      case '--scenarios': args.scenarios = new Set(value().split(',')); break;
      case '--self-test': args.selfTest = true; break;
      case '--no-save': args.save = false; break;
      case '--pg-url': args.pgUrl = value(); break;
      case '--nats-url': args.natsUrl = value(); break;
      case '--profile': args.profile = value(); break;
      case '--server-env': {
        const [k, ...rest] = value().split('=');
        args.serverEnv[k!] = rest.join('=');
        break;
      }
      case '--help': case '-h': process.stdout.write(`${USAGE}\n`); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  return args;
}

function config(quick: boolean, overrides: Partial<Config>): Config {
  const base: Config = {
    mode: quick ? 'quick' : 'full',
    reps: quick ? 1 : 3,
    warmupSec: quick ? 1 : 2,
    windowSec: quick ? 3 : 10,
    fanoutMembers: 1000,
    fanoutWindow: 4,
    dmPairs: 500,
    dmWindow: 1,
    latencyMembers: 100,
    latencyRate: 1000,
    latencySenders: 10,
    idleConnections: quick ? 2000 : 10_000,
    idleUsers: 100,
    idleSettleSec: quick ? 0.5 : 2,
    connectConcurrency: 100,
    stallSec: 10,
  };
  return { ...base, ...overrides };
}

/**
 * Environment the bench gives the Sotong server on top of spawnServer's own test settings.
 * The per-session command rate limit (default 50/s) would otherwise cap the one fan-out sender
 * and the latency100 senders: the limiter is not what this bench measures. Durability settings
 * (SQLite synchronous=FULL) stay at their defaults: ack-means-durable is part of the cost.
 */
const SOTONG_BENCH_ENV: Record<string, string> = {
  SOTONG_COMMANDS_PER_SECOND: '1000000',
  SOTONG_COMMAND_BURST: '1000000',
  SOTONG_USER_COMMANDS_PER_SECOND: '1000000',
  SOTONG_USER_COMMAND_BURST: '1000000',
  // The idle scenario holds up to 100 sockets per user.
  SOTONG_MAX_CONNECTIONS_PER_USER: '100000',
};

// ---------------------------------------------------------------------------------------------
// Processes

const LOADGEN = fileURLToPath(new URL('./loadgen.js', import.meta.url));
const PROFILER = new URL('./cpu-profile.js', import.meta.url).href;
const RESULTS_DIR = fileURLToPath(new URL('../../results/', import.meta.url));

let nonceCounter = 0;
function nonce(): string {
  return `${Date.now().toString(36)}${(nonceCounter++).toString(36)}`;
}

/** One load generator process for one run; killed if it overruns its budget. */
function runLoadgen(cfg: Config, target: Target, job: Job, profile?: { dir: string; name: string }): Promise<LoadgenReport> {
  const sockets = job.kind === 'idle' ? job.connections : job.kind === 'dm' ? job.pairs.length * 2 : job.members.length;
  const budgetSec = 30 + sockets / 50 + ('windowSec' in job ? job.warmupSec + job.windowSec : 0) + cfg.stallSec + 15;
  const nodes = target.nodes ?? [target];
  const req: LoadgenRequest = {
    target: target.name,
    wsUrl: target.wsUrl,
    serverPid: target.pid,
    ...(target.nodes ? { wsUrls: nodes.map((n) => n.wsUrl), serverPids: nodes.map((n) => n.pid) } : {}),
    ...(target.store === 'postgres' ? { watchProcesses: ['postgres', 'nats-server'] } : {}),
    nonce: nonce(),
    connectConcurrency: cfg.connectConcurrency,
    stallSec: cfg.stallSec,
    profileWindow: profile !== undefined && job.kind !== 'idle',
    job,
  };
  const before = nodes.map((n) => (n.metricsUrl ? scrapeMetrics(n.metricsUrl) : null));
  return new Promise<LoadgenReport>((resolve) => {
    const child = fork(LOADGEN, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let report: LoadgenReport | null = null;
    const timer = setTimeout(() => {
      log(`load generator for ${target.name}/${job.kind} overran ${Math.round(budgetSec)} s: killing pid ${child.pid}`);
      child.kill('SIGKILL');
    }, budgetSec * 1000);
    child.on('message', (m: LoadgenReport) => (report = m));
    child.on('exit', async (code, signal) => {
      clearTimeout(timer);
      if (req.profileWindow && profile) await collectProfile(target.pid, profile);
      resolve(report ?? { ok: false, target: target.name, kind: job.kind, error: `load generator exited (${code ?? signal}) without a report` });
    });
    void Promise.all(before).then(() => child.send(req));
  }).then(async (report) => {
    const deltas = await Promise.all(
      nodes.map(async (n, i) => (before[i] && n.metricsUrl ? metricsDelta((await before[i])!, await scrapeMetrics(n.metricsUrl)) : undefined)),
    );
    if (deltas[0]) report.serverMetrics = deltas[0];
    if (nodes.length > 1) report.serverMetricsByNode = deltas.map((d) => d ?? {});
    return report;
  });
}

/** Renames the window profile the server just wrote (cpu-profile.ts) to `<name>.cpuprofile`. */
async function collectProfile(pid: number, profile: { dir: string; name: string }): Promise<void> {
  const prefix = `window-${pid}-`;
  for (let i = 0; i < 100; i++) {
    const found = readdirSync(profile.dir).find((f) => f.startsWith(prefix) && f.endsWith('.cpuprofile') && statSync(join(profile.dir, f)).size > 0);
    if (found) {
      renameSync(join(profile.dir, found), join(profile.dir, `${profile.name}.cpuprofile`));
      log(`cpu profile: ${join(profile.dir, `${profile.name}.cpuprofile`)}`);
      return;
    }
    await sleep(100);
  }
  log(`no cpu profile arrived from pid ${pid}`);
}

/** Waits until the server's CPU use falls under 10 % of a core (what the previous run left). */
async function waitQuiet(pid: number, maxMs: number): Promise<void> {
  const until = Date.now() + maxMs;
  let last = readCpuSec(pid);
  while (Date.now() < until) {
    await sleep(250);
    const now = readCpuSec(pid);
    if ((now - last) / 0.25 < 0.1) return;
    last = now;
  }
}

function fdLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return !m || m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// Scenarios

type Scenario = 'fanout' | 'dm' | 'latency100' | 'idle';
type Runs = Record<string, Partial<Record<Scenario, LoadgenReport[]>>>;

interface Fixture {
  target: Target;
  fanout: { channelId: string; members: Identity[] };
  latency: { channelId: string; members: Identity[] };
  dm: { channelId: string; a: Identity; b: Identity }[];
}

async function prepare(cfg: Config, target: Target, scenarios: Set<string>): Promise<Fixture> {
  const started = Date.now();
  const tag = nonce();
  const users = await target.users(Math.max(cfg.fanoutMembers, cfg.dmPairs * 2, cfg.latencyMembers), `u${tag}`);
  log(`${target.name}: ${users.length} users in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const fanoutMembers = users.slice(0, cfg.fanoutMembers);
  const latencyMembers = users.slice(0, cfg.latencyMembers);
  const fixture: Fixture = {
    target,
    fanout: { channelId: '', members: fanoutMembers },
    latency: { channelId: '', members: latencyMembers },
    dm: [],
  };
  if (scenarios.has('fanout')) fixture.fanout.channelId = await createChannel(target.wsUrl, fanoutMembers[0]!, fanoutMembers, `bench-fanout-${tag}`);
  if (scenarios.has('latency100'))
    fixture.latency.channelId = await createChannel(target.wsUrl, latencyMembers[0]!, latencyMembers, `bench-latency-${tag}`);
  if (scenarios.has('dm')) {
    // DM pairs reuse the same users (2i, 2i+1): only the DM channels carry traffic in that run.
    const pairs = Array.from({ length: cfg.dmPairs }, (_, i) => [users[2 * i]!, users[2 * i + 1]!] as [Identity, Identity]);
    const ids = await openDms(target.wsUrl, pairs);
    fixture.dm = pairs.map(([a, b], i) => ({ channelId: ids[i]!, a, b }));
  }
  log(`${target.name}: fixture ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return fixture;
}

function job(cfg: Config, fx: Fixture, scenario: Exclude<Scenario, 'idle'>): Job {
  const timing = { warmupSec: cfg.warmupSec, windowSec: cfg.windowSec };
  switch (scenario) {
    case 'fanout':
      return { kind: 'fanout', ...timing, channelId: fx.fanout.channelId, members: fx.fanout.members, window: cfg.fanoutWindow };
    case 'dm':
      return { kind: 'dm', ...timing, pairs: fx.dm, window: cfg.dmWindow };
    case 'latency100':
      return {
        kind: 'latency',
        ...timing,
        channelId: fx.latency.channelId,
        members: fx.latency.members,
        senders: cfg.latencySenders,
        ratePerSec: cfg.latencyRate,
        maxInFlight: cfg.latencyRate * 2,
      };
  }
}

function summarizeRun(r: LoadgenReport): string {
  if (!r.ok) return `FAILED: ${r.error}`;
  const parts: string[] = [];
  if (r.deliveriesPerSec !== undefined) parts.push(`${r.deliveriesPerSec} deliveries/s`);
  if (r.messagesPerSec !== undefined) parts.push(`${r.messagesPerSec} msgs/s`);
  if (r.sentPerSec !== undefined) parts.push(`${r.sentPerSec} sent/s`);
  if (r.latency) parts.push(`p50 ${r.latency.p50Ms} ms p99 ${r.latency.p99Ms} ms`);
  if (r.cpu) parts.push(`cpu server ${r.cpu.serverPct}% loadgen ${r.cpu.loadgenPct}%`);
  if (r.rssBytesPerConnection !== undefined)
    parts.push(`${r.connections} conns, ${r.rssBytesPerConnection} B RSS/conn (second half: ${r.rssMarginalBytesPerConnection} B/conn)`);
  if (r.overloaded) parts.push('OVERLOADED');
  return parts.join(', ');
}

// ---------------------------------------------------------------------------------------------
// Cluster: PostgreSQL + NATS, one node and two nodes on one schema and one bus prefix

/** Target names of the cluster runs in `runs`. */
const PG_ONE = 'sotong-pg';
const PG_TWO = 'sotong-pg-2nodes';

interface ClusterFixture {
  /** One PostgreSQL + NATS node: its users, fan-out channel and DM pairs. */
  one: Fixture;
  /** The same node plus a second one on the same schema and bus prefix (null if it did not start). */
  two: Fixture | null;
  /** Every node, in start order (stopped in reverse: the first one drops the schema). */
  nodes: Target[];
}

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : defaultPort };
}

/**
 * Starts the first PostgreSQL + NATS node (spawnServer makes it a fresh schema `t_bench_<hex>`,
 * dropped when that node stops), builds the fan-out and DM fixture on it, then starts a second node
 * joining the same schema and the same bus prefix (`bench<hex>`: core NATS subjects, which keep
 * nothing once the nodes disconnect). Throws with the reason when something is not there.
 */
async function prepareCluster(
  cfg: Config,
  env: Record<string, string>,
  pgUrl: string,
  natsUrl: string,
  started: Target[],
): Promise<ClusterFixture> {
  const pg = hostPort(pgUrl, 5432);
  const nats = hostPort(natsUrl, 4222);
  const [pgDown, natsDown] = await Promise.all([probeTcp(pg.host, pg.port), probeTcp(nats.host, nats.port)]);
  const down = [
    ...(pgDown ? [`PostgreSQL at ${pg.host}:${pg.port} unreachable (${pgDown})`] : []),
    ...(natsDown ? [`NATS at ${nats.host}:${nats.port} unreachable (${natsDown})`] : []),
  ];
  if (down.length) throw new Error(down.join('; '));
  // spawnServer names the schemas it makes with this prefix: leftovers of a killed bench are easy to find.
  process.env.SOTONG_TEST_SCHEMA_PREFIX ??= 't_bench_';
  const clusterEnv = { ...env, DATABASE_URL: pgUrl, BUS_URL: natsUrl, SOTONG_BUS_PREFIX: `bench${randomBytes(4).toString('hex')}` };
  const nodes: Target[] = [];
  const first = await startSotongTarget({ env: clusterEnv, name: PG_ONE });
  nodes.push(first);
  started.push(first);
  log(`${PG_ONE}: node 1 pid ${first.pid}, schema ${first.storeEnv?.SOTONG_PG_SCHEMA}, bus prefix ${clusterEnv.SOTONG_BUS_PREFIX}`);
  const one = await prepare(cfg, first, new Set(['fanout', 'dm']));
  let two: Fixture | null = null;
  try {
    const second = await startSotongTarget({ env: { ...clusterEnv, ...first.storeEnv }, name: `${PG_ONE}-node2` });
    nodes.push(second);
    started.push(second);
    log(`${PG_TWO}: node 2 pid ${second.pid} on the same schema and bus prefix`);
    two = { ...one, target: { ...first, name: PG_TWO, nodes: [first, second] } };
  } catch (err) {
    log(`${PG_TWO}: second node did not start: ${(err as Error).message}`);
    throw Object.assign(new Error(`second node did not start: ${(err as Error).message.split('\n')[0]}`), { partial: { one, two: null, nodes } });
  }
  return { one, two, nodes };
}

// ---------------------------------------------------------------------------------------------
// Results

/** Median of one field over the successful runs; null when none succeeded. */
function med(runs: LoadgenReport[] | undefined, pick: (r: LoadgenReport) => number | undefined): number | null {
  const values = (runs ?? []).filter((r) => r.ok).map(pick).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return values.length ? median(values) : null;
}

/** A URL without its password, for the report. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function ratio(a: number | null, b: number | null): number | null {
  return a === null || b === null || b === 0 ? null : round(a / b, 3);
}

function failures(runs: Runs): string[] {
  const out: string[] = [];
  for (const [target, byScenario] of Object.entries(runs))
    for (const [scenario, list] of Object.entries(byScenario)) for (const r of list ?? []) if (!r.ok) out.push(`${target}/${scenario}: ${r.error}`);
  return out;
}

function assemble(
  cfg: Config,
  runs: Runs,
  candidate: string | null,
  notes: string[],
  serverEnv: Record<string, string>,
  cluster: { nodes: number | null; note: string | null; pgUrl: string; natsUrl: string; sqliteStore: string | null },
) {
  const s = candidate ? runs[candidate] ?? {} : {};
  const b = runs.baseline ?? {};
  const cpuOf = (list: LoadgenReport[] | undefined) => ({
    serverCpuPct: med(list, (r) => r.cpu?.serverPct),
    loadgenCpuPct: med(list, (r) => r.cpu?.loadgenPct),
  });
  /** Work per CPU-second of the server: steadier than per wall-second on a shared machine. */
  const perCpu = (list: LoadgenReport[] | undefined, pick: (r: LoadgenReport) => number | undefined) =>
    med(list, (r) => {
      const v = pick(r);
      return v === undefined || !r.cpu || r.cpu.serverPct <= 0 ? undefined : Math.round(v / (r.cpu.serverPct / 100));
    });
  const fanoutPerCpu = perCpu(s.fanout, (r) => r.deliveriesPerSec);
  const baseFanoutPerCpu = perCpu(b.fanout, (r) => r.deliveriesPerSec);
  const dmPerCpu = perCpu(s.dm, (r) => r.messagesPerSec);
  const baseDmPerCpu = perCpu(b.dm, (r) => r.messagesPerSec);
  const fanoutRate = med(s.fanout, (r) => r.deliveriesPerSec);
  const baseFanoutRate = med(b.fanout, (r) => r.deliveriesPerSec);
  const dmRate = med(s.dm, (r) => r.messagesPerSec);
  const baseDmRate = med(b.dm, (r) => r.messagesPerSec);
  const idleRss = med(s.idle, (r) => r.rssBytesPerConnection);
  const baseIdleRss = med(b.idle, (r) => r.rssBytesPerConnection);
  const lat99 = med(s.latency100, (r) => r.latency?.p99Ms);
  // Cluster: the same fan-out/DM jobs on PostgreSQL + NATS; the SQLite reference is `s.fanout` above.
  const c1 = runs[PG_ONE] ?? {};
  const c2 = runs[PG_TWO] ?? {};
  const otherCpu = (list: LoadgenReport[] | undefined, name: string) => med(list, (r) => r.cpu?.others?.[name]);
  const clusterFanout = med(c1.fanout, (r) => r.deliveriesPerSec);
  const clusterTwo = med(c2.fanout, (r) => r.deliveriesPerSec);
  const clusterFanoutPerCpu = perCpu(c1.fanout, (r) => r.deliveriesPerSec);
  const clusterTwoPerCpu = perCpu(c2.fanout, (r) => r.deliveriesPerSec);
  const clusterDm = med(c1.dm, (r) => r.messagesPerSec);
  const clusterRatio = cluster.sqliteStore === 'sqlite' ? ratio(clusterFanout, fanoutRate) : null;
  const result = {
    bench: 'sotong',
    version: 1,
    mode: cfg.mode,
    candidate,
    startedAt: '',
    finishedAt: '',
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memBytes: totalmem(), node: process.version, loadavg1m: round(loadavg()[0]!, 2), fdLimit: fdLimit() },
    method: {
      repetitions: cfg.reps,
      statistic: 'median over repetitions',
      warmupSec: cfg.warmupSec,
      windowSec: cfg.windowSec,
      loadgen: 'one forked process per run, same code for both targets; ws client, no permessage-deflate',
      serverEnv,
    },
    fanout: {
      members: cfg.fanoutMembers,
      senders: 1,
      inFlight: cfg.fanoutWindow,
      deliveriesPerSec: fanoutRate,
      messagesPerSec: med(s.fanout, (r) => r.messagesPerSec),
      p50Ms: med(s.fanout, (r) => r.latency?.p50Ms),
      p99Ms: med(s.fanout, (r) => r.latency?.p99Ms),
      ratioToBaseline: ratio(fanoutRate, baseFanoutRate),
      ...cpuOf(s.fanout),
      deliveriesPerServerCpuSec: fanoutPerCpu,
      ratioToBaselinePerServerCpu: ratio(fanoutPerCpu, baseFanoutPerCpu),
    },
    dm: {
      pairs: cfg.dmPairs,
      inFlightPerPair: cfg.dmWindow,
      messagesPerSec: dmRate,
      p50Ms: med(s.dm, (r) => r.latency?.p50Ms),
      p99Ms: med(s.dm, (r) => r.latency?.p99Ms),
      ratioToBaseline: ratio(dmRate, baseDmRate),
      ...cpuOf(s.dm),
      messagesPerServerCpuSec: dmPerCpu,
      ratioToBaselinePerServerCpu: ratio(dmPerCpu, baseDmPerCpu),
    },
    latency100: {
      members: cfg.latencyMembers,
      senders: cfg.latencySenders,
      targetRatePerSec: cfg.latencyRate,
      sentPerSec: med(s.latency100, (r) => r.sentPerSec),
      deliveriesPerSec: med(s.latency100, (r) => r.deliveriesPerSec),
      p50Ms: med(s.latency100, (r) => r.latency?.p50Ms),
      p99Ms: lat99,
      overloaded: (s.latency100 ?? []).some((r) => r.overloaded),
      ...cpuOf(s.latency100),
    },
    idle: {
      connections: med(s.idle, (r) => r.connections),
      rssBytesPerConnection: idleRss,
      rssMarginalBytesPerConnection: med(s.idle, (r) => r.rssMarginalBytesPerConnection),
      ratioToBaseline: ratio(idleRss, baseIdleRss),
    },
    cluster: {
      store: 'postgres',
      bus: 'nats',
      postgres: redact(cluster.pgUrl),
      nats: redact(cluster.natsUrl),
      nodes: cluster.nodes,
      members: cfg.fanoutMembers,
      inFlight: cfg.fanoutWindow,
      deliveriesPerSec: clusterFanout,
      messagesPerSec: med(c1.fanout, (r) => r.messagesPerSec),
      p50Ms: med(c1.fanout, (r) => r.latency?.p50Ms),
      p99Ms: med(c1.fanout, (r) => r.latency?.p99Ms),
      ...cpuOf(c1.fanout),
      postgresCpuPct: otherCpu(c1.fanout, 'postgres'),
      natsCpuPct: otherCpu(c1.fanout, 'nats-server'),
      deliveriesPerServerCpuSec: clusterFanoutPerCpu,
      ratioToSqlite: clusterRatio,
      ratioToSqlitePerServerCpu: cluster.sqliteStore === 'sqlite' ? ratio(clusterFanoutPerCpu, fanoutPerCpu) : null,
      twoNodeDeliveriesPerSec: clusterTwo,
      twoNode: {
        messagesPerSec: med(c2.fanout, (r) => r.messagesPerSec),
        p50Ms: med(c2.fanout, (r) => r.latency?.p50Ms),
        p99Ms: med(c2.fanout, (r) => r.latency?.p99Ms),
        ...cpuOf(c2.fanout),
        serverCpuPctByNode: (() => {
          const byNode = (c2.fanout ?? []).filter((r) => r.ok && r.cpu?.serverPctByNode).map((r) => r.cpu!.serverPctByNode!);
          return byNode.length ? byNode[0]!.map((_, i) => median(byNode.map((b) => b[i]!))) : null;
        })(),
        postgresCpuPct: otherCpu(c2.fanout, 'postgres'),
        natsCpuPct: otherCpu(c2.fanout, 'nats-server'),
        deliveriesPerServerCpuSec: clusterTwoPerCpu,
        ratioToOneNode: ratio(clusterTwo, clusterFanout),
      },
      dmMessagesPerSec: clusterDm,
      dm: {
        pairs: cfg.dmPairs,
        inFlightPerPair: cfg.dmWindow,
        p50Ms: med(c1.dm, (r) => r.latency?.p50Ms),
        p99Ms: med(c1.dm, (r) => r.latency?.p99Ms),
        ...cpuOf(c1.dm),
        postgresCpuPct: otherCpu(c1.dm, 'postgres'),
        natsCpuPct: otherCpu(c1.dm, 'nats-server'),
        ratioToSqlite: cluster.sqliteStore === 'sqlite' ? ratio(clusterDm, dmRate) : null,
      },
      note: cluster.note,
    },
    baseline: {
      deliveriesPerSec: baseFanoutRate,
      fanoutMessagesPerSec: med(b.fanout, (r) => r.messagesPerSec),
      fanoutP50Ms: med(b.fanout, (r) => r.latency?.p50Ms),
      fanoutP99Ms: med(b.fanout, (r) => r.latency?.p99Ms),
      dmMessagesPerSec: baseDmRate,
      dmP50Ms: med(b.dm, (r) => r.latency?.p50Ms),
      dmP99Ms: med(b.dm, (r) => r.latency?.p99Ms),
      latency100P50Ms: med(b.latency100, (r) => r.latency?.p50Ms),
      latency100P99Ms: med(b.latency100, (r) => r.latency?.p99Ms),
      idleConnections: med(b.idle, (r) => r.connections),
      idleRssBytesPerConnection: baseIdleRss,
      idleRssMarginalBytesPerConnection: med(b.idle, (r) => r.rssMarginalBytesPerConnection),
      fanoutCpu: cpuOf(b.fanout),
      dmCpu: cpuOf(b.dm),
      deliveriesPerServerCpuSec: baseFanoutPerCpu,
      dmMessagesPerServerCpuSec: baseDmPerCpu,
    },
    targets: {
      fanoutRatioToBaseline: { target: '>= 0.5', met: fanoutRate === null ? null : (ratio(fanoutRate, baseFanoutRate) ?? 0) >= 0.5 },
      dmRatioToBaseline: { target: '>= 0.3', met: dmRate === null ? null : (ratio(dmRate, baseDmRate) ?? 0) >= 0.3 },
      latency100P99Ms: { target: '< 50', met: lat99 === null ? null : lat99 < 50 },
      idleRssBytesPerConnection: { target: '<= 20480', met: idleRss === null ? null : idleRss <= 20480 },
      clusterRatioToSqlite: { target: '>= 0.7', met: clusterRatio === null ? null : clusterRatio >= 0.7 },
    },
    notes,
    failures: failures(runs),
    runs,
  };
  return result;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cfg = config(args.quick, args.overrides);
  const startedAt = new Date();
  const notes: string[] = [];
  const runs: Runs = {};
  const started: Target[] = [];
  const serverOpts = (_label: string): TargetOptions => {
    const env = { ...SOTONG_BENCH_ENV, ...args.serverEnv };
    if (args.profile) {
      mkdirSync(args.profile, { recursive: true });
      env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --import=${PROFILER}`.trim();
      env.BENCH_PROFILE_DIR = resolve(args.profile);
    }
    return { env };
  };

  // Which server stands in the candidate slot: Sotong, or (self-test) a second baseline.
  const candidate: string | null = args.only === 'baseline' ? null : args.selfTest ? 'baseline-as-candidate' : 'sotong';
  const startCandidate = async (label: string): Promise<Target> => {
    if (args.selfTest) {
      const t = await startBaselineTarget(serverOpts(`candidate-${label}`));
      t.name = 'baseline-as-candidate';
      return t;
    }
    return startSotongTarget(serverOpts(`sotong-${label}`));
  };
  const wantBaseline = args.only !== 'sotong';
  const order = (rep: number): string[] => {
    const names = [...(wantBaseline ? ['baseline'] : []), ...(candidate ? [candidate] : [])];
    return rep % 2 === 0 ? names : names.reverse();
  };
  const record = (target: string, scenario: Scenario, report: LoadgenReport): void => {
    ((runs[target] ??= {})[scenario] ??= []).push(report);
    log(`${target} ${scenario}: ${summarizeRun(report)}`);
  };

  const limit = fdLimit();
  if (args.scenarios.has('idle') && limit < cfg.idleConnections + 1000) {
    notes.push(`idle: open-file limit ${limit} is below ${cfg.idleConnections} connections + 1000; connections capped (raise with ulimit -n)`);
    cfg.idleConnections = Math.max(100, limit - 1000);
  }
  // Cluster mode measures against the SQLite fan-out of the same run, so it brings that along.
  let clusterNote: string | null = null;
  let runCluster = args.scenarios.has('cluster');
  if (runCluster && candidate !== 'sotong') {
    clusterNote = 'cluster: not run (it needs the Sotong candidate: not with --only baseline or --self-test)';
    notes.push(clusterNote);
    runCluster = false;
  } else if (runCluster && !args.scenarios.has('fanout')) {
    args.scenarios.add('fanout');
    notes.push('cluster: fanout added to the scenarios, as the SQLite reference for cluster.ratioToSqlite');
  }
  let sqliteStore: string | null = null;
  let clusterFx: ClusterFixture | null = null;
  let atRestSearch: AtRestSearch | null = null;
  let atRestNote: string | null = null;

  if (cfg.mode === 'quick') notes.push(`quick mode: ${cfg.reps} repetition(s), ${cfg.windowSec} s windows, ${cfg.idleConnections} idle connections`);

  const stopTarget = (t: Target): Promise<void> => t.stop().catch(() => {});
  // In reverse start order, one at a time: a second cluster node stops before the first one
  // drops the schema they share.
  const stopAll = async (): Promise<void> => {
    for (const t of started.splice(0).reverse()) await stopTarget(t);
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  try {
    // Idle: a fresh server per repetition, so the heap left by other scenarios cannot absorb the
    // new connections and hide their cost.
    if (args.scenarios.has('idle')) {
      for (let rep = 0; rep < cfg.reps; rep++) {
        for (const name of order(rep)) {
          let target: Target | null = null;
          try {
            target = name === 'baseline' ? await startBaselineTarget(serverOpts(`baseline-idle${rep}`)) : await startCandidate(`idle${rep}`);
            started.push(target);
            const users = await target.users(cfg.idleUsers, `i${nonce()}`);
            await createChannel(target.wsUrl, users[0]!, users, `bench-idle-${nonce()}`);
            await waitQuiet(target.pid, 5_000);
            await sleep(500);
            record(name, 'idle', await runLoadgen(cfg, target, { kind: 'idle', identities: users, connections: cfg.idleConnections, settleSec: cfg.idleSettleSec }));
          } catch (err) {
            record(name, 'idle', { ok: false, target: name, kind: 'idle', error: `setup: ${(err as Error).message}` });
          } finally {
            if (target) {
              started.splice(started.indexOf(target), 1);
              await stopTarget(target);
            }
          }
        }
      }
    }

    if (args.scenarios.has('atrest') && candidate === 'sotong') {
      try {
        await runAtRestIngest({
          reps: cfg.reps,
          start: async (name, env) => {
            const t = await startSotongTarget({ ...serverOpts(name), env: { ...serverOpts(name).env, ...env }, name });
            started.push(t);
            return t;
          },
          dmJob: async (t) => job(cfg, await prepare(cfg, t, new Set(['dm'])), 'dm'),
          run: async (t, j, rep) => {
            await waitQuiet(t.pid, 5_000);
            const profile = args.profile ? { dir: resolve(args.profile), name: `${t.name}-dm-rep${rep + 1}` } : undefined;
            record(t.name, 'dm', await runLoadgen(cfg, t, j, profile));
          },
          stop: async (t) => {
            if (started.includes(t)) started.splice(started.indexOf(t), 1);
            await stopTarget(t);
          },
        });
      } catch (err) {
        notes.push(`atrest: ingest failed: ${(err as Error).message.split('\n')[0]}`);
        log((err as Error).stack ?? String(err));
      }
      try {
        atRestSearch = await measureAtRestSearch(cfg.mode === 'quick', serverOpts('atrest-search').env ?? {});
      } catch (err) {
        atRestNote = `atrest: search failed: ${(err as Error).message.split('\n')[0]}`;
        notes.push(atRestNote);
        log((err as Error).stack ?? String(err));
      }
    } else if (args.scenarios.has('atrest')) notes.push('atrest: not run (it needs the Sotong candidate)');

    const loadScenarios = (['fanout', 'dm', 'latency100'] as const).filter((s) => args.scenarios.has(s));
    if (loadScenarios.length) {
      const fixtures = new Map<string, Fixture>();
      for (const name of order(0)) {
        try {
          const target = name === 'baseline' ? await startBaselineTarget(serverOpts('baseline')) : await startCandidate('main');
          started.push(target);
          fixtures.set(name, await prepare(cfg, target, args.scenarios));
        } catch (err) {
          const why = `${name}: setup failed: ${(err as Error).stack ?? err}`;
          notes.push(why.split('\n').slice(0, 3).join(' | '));
          log(why);
        }
      }
      if (candidate === 'sotong') sqliteStore = fixtures.get('sotong')?.target.store ?? null;
      if (runCluster) {
        if (sqliteStore !== null && sqliteStore !== 'sqlite')
          notes.push(`cluster: the single-node Sotong server ran on ${sqliteStore}, not SQLite (SOTONG_TEST_DATABASE_URL set?): ratioToSqlite is null`);
        try {
          clusterFx = await prepareCluster(cfg, serverOpts('cluster').env ?? {}, args.pgUrl, args.natsUrl, started);
        } catch (err) {
          clusterFx = (err as { partial?: ClusterFixture }).partial ?? null;
          clusterNote = `cluster: ${(err as Error).message.split('\n')[0]}${clusterFx ? '' : ': cluster figures are null'}`;
          notes.push(clusterNote);
          log(clusterNote);
          log((err as Error).stack ?? String(err));
        }
      }
      const clusterRun = async (fx: Fixture, scenario: 'fanout' | 'dm', rep: number): Promise<void> => {
        for (const node of fx.target.nodes ?? [fx.target]) await waitQuiet(node.pid, 5_000);
        // --profile: the first node's profile (on two nodes, the sender's node).
        const profile = args.profile ? { dir: resolve(args.profile), name: `${fx.target.name}-${scenario}-rep${rep + 1}` } : undefined;
        record(fx.target.name, scenario, await runLoadgen(cfg, fx.target, job(cfg, fx, scenario), profile));
      };
      for (let rep = 0; rep < cfg.reps; rep++) {
        for (const scenario of loadScenarios) {
          for (const name of order(rep)) {
            const fx = fixtures.get(name);
            if (!fx) continue;
            await waitQuiet(fx.target.pid, 5_000);
            const profile = args.profile ? { dir: resolve(args.profile), name: `${name}-${scenario}-rep${rep + 1}` } : undefined;
            record(name, scenario, await runLoadgen(cfg, fx.target, job(cfg, fx, scenario), profile));
          }
          // Cluster runs right after the SQLite runs of the same workload, so the two are compared
          // on the same minute of this noisy machine: fan-out on one node and on two (order flipped
          // every repetition), DM on one node.
          if (clusterFx && scenario === 'fanout') {
            const fanouts = [clusterFx.one, ...(clusterFx.two ? [clusterFx.two] : [])];
            for (const fx of rep % 2 ? fanouts.reverse() : fanouts) await clusterRun(fx, 'fanout', rep);
          }
          if (clusterFx && scenario === 'dm') await clusterRun(clusterFx.one, 'dm', rep);
        }
        if (clusterFx && !loadScenarios.includes('dm')) await clusterRun(clusterFx.one, 'dm', rep);
      }
    }
  } finally {
    await stopAll();
  }

  const transports =
    candidate === 'sotong' && (args.scenarios.has('mqtt') || args.scenarios.has('longpoll'))
      ? await runTransportScenarios(cfg, args.scenarios, serverOpts('transports').env ?? {}, args.profile !== null)
      : null;

  const result = assemble(cfg, runs, candidate, notes, { ...SOTONG_BENCH_ENV, ...args.serverEnv }, {
    nodes: clusterFx ? (clusterFx.two ? 2 : 1) : null,
    note: clusterNote,
    pgUrl: args.pgUrl,
    natsUrl: args.natsUrl,
    sqliteStore,
  });
  if (transports) {
    Object.assign(result, { mqtt: transports.mqtt, longPoll: transports.longPoll });
    Object.assign(result.targets, transports.targets);
    result.notes.push(...transports.notes);
    result.failures.push(...transports.failures);
    Object.assign(result.runs, { transports: transports.runs });
  }
  result.startedAt = startedAt.toISOString();
  result.finishedAt = new Date().toISOString();
  const atRest = atRestReport(runs, atRestSearch, atRestNote);
  const json = JSON.stringify({ ...result, atRest: atRest.atRest, targets: { ...result.targets, ...atRest.targets } }, null, 2);
  if (args.save) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = `${RESULTS_DIR}${startedAt.toISOString().replace(/[:.]/g, '-')}.json`;
    writeFileSync(file, `${json}\n`);
    log(`wrote ${file}`);
  }
  process.stdout.write(`${json}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
