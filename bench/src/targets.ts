/**
 * The servers under test, behind one small interface, and the setup client that creates
 * channels over the socket the same way for both (channel.create, dm.open).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deviceOf, spawnServer, TestDevice, type SpawnedServer } from '@sotong/server/testing';
import WebSocket from 'ws';
import { type Identity, log } from './common.js';

export interface Target {
  /** 'baseline' or 'sotong'. */
  name: string;
  wsUrl: string;
  pid: number;
  /** Prometheus metrics of the server, when it has them (Sotong: GET /metrics). */
  metricsUrl?: string;
  /** Sotong: which store the server runs on ('sqlite' | 'postgres'). */
  store?: string;
  /** Sotong: the environment that points a second node at this server's store (spawnServer's storeEnv). */
  storeEnv?: Record<string, string>;
  /** A cluster target: every node (nodes[0] is this target's own server); sockets spread over them. */
  nodes?: Target[];
  /** Creates `count` users and returns a token for each. */
  users(count: number, prefix: string): Promise<Identity[]>;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** Extra environment for the server process (e.g. NODE_OPTIONS=--cpu-prof). */
  env?: Record<string, string>;
  /** Target name in the report (default 'sotong'). */
  name?: string;
}

/** Whether a TCP port accepts a connection within `timeoutMs` (null) or why not. */
export function probeTcp(host: string, port: number, timeoutMs = 2_000): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (why: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(`no answer within ${timeoutMs} ms`), timeoutMs);
    socket.once('connect', () => done(null));
    socket.once('error', (err) => done(err.message));
  });
}

/** Runs `fn` over `items`, `concurrency` at a time, keeping the order of results. */
export async function mapLimit<T, R>(items: T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

export async function startBaselineTarget(opts: TargetOptions = {}): Promise<Target> {
  const script = fileURLToPath(new URL('./baseline-server.js', import.meta.url));
  const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...opts.env } });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('baseline server did not start within 10 s')), 10_000);
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  let nextUser = 0;
  return {
    name: 'baseline',
    wsUrl: `ws://127.0.0.1:${port}/`,
    pid: child.pid!,
    // No storage, no auth: a user is an id, and the token is that id.
    async users(count, prefix) {
      return Array.from({ length: count }, () => {
        const id = `${prefix}-${nextUser++}`;
        return { userId: id, token: id };
      });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export async function startSotongTarget(opts: TargetOptions = {}): Promise<Target> {
  // Our own temp folder, so it is removed even when the server fails to start.
  const dataDir = mkdtempSync(join(tmpdir(), 'sotong-bench-'));
  const removeData = () => rmSync(dataDir, { recursive: true, force: true });
  let timer: NodeJS.Timeout | undefined;
  let server: SpawnedServer;
  try {
    server = await Promise.race([
      spawnServer({ dataDir, ...(opts.env ? { env: opts.env } : {}) }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('Sotong server did not listen within 60 s')), 60_000))),
    ]);
  } catch (err) {
    removeData();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  let nextUser = 0;
  return {
    name: opts.name ?? 'sotong',
    wsUrl: server.wsUrl,
    metricsUrl: `${server.httpUrl}/metrics`,
    pid: server.pid,
    store: server.store,
    storeEnv: server.storeEnv,
    async users(count, prefix) {
      const password = 'bench-password-1234';
      const made = Array.from({ length: count }, () => nextUser++);
      return mapLimit(made, 32, async (i) => {
        const email = `${prefix}-${i}@bench.example`;
        const user = await server.createUser(email, `${prefix} ${i}`, password);
        const token = await server.login(email, password);
        return { userId: user.id, token, device: deviceOf(token)!.export() };
      });
    },
    async stop() {
      // A PostgreSQL schema spawnServer made for this server is dropped here; a node that joined
      // another's schema (env SOTONG_PG_SCHEMA) leaves it to that one.
      await server.stop();
      // The data folder holds only this run's data: the bench leaves nothing behind.
      removeData();
    },
  };
}

/** Counters and histogram sums/counts from a Prometheus text page, by series name (labels dropped). */
export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    const res = await fetch(url);
    if (!res.ok) return out;
    for (const line of (await res.text()).split('\n')) {
      if (line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)$/.exec(line);
      if (!m || !/(_sum|_count|_total)$/.test(m[1]!)) continue;
      out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
    }
  } catch {
    /* no metrics: not an error for the bench */
  }
  return out;
}

/**
 * What changed between two scrapes: counters as deltas, histograms as count and mean
 * (e.g. sotong_commit_batch_size → {count, mean}: how many messages one commit carried).
 */
export function metricsDelta(before: Map<string, number>, after: Map<string, number>): Record<string, number | { count: number; mean: number }> {
  const out: Record<string, number | { count: number; mean: number }> = {};
  for (const [name, value] of after) {
    const delta = value - (before.get(name) ?? 0);
    if (name.endsWith('_total')) {
      if (delta !== 0) out[name] = delta;
    } else if (name.endsWith('_count')) {
      const base = name.slice(0, -'_count'.length);
      const sum = (after.get(`${base}_sum`) ?? 0) - (before.get(`${base}_sum`) ?? 0);
      if (delta > 0) out[base] = { count: delta, mean: Number((sum / delta).toPrecision(4)) };
    }
  }
  return out;
}

/** A socket for setup commands (not measured). */
export class SetupClient {
  private nextId = 1;
  private readonly pending = new Map<string, { resolve(v: unknown): void; reject(e: Error): void }>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { t: string; id?: string; data?: unknown; code?: string; message?: string };
      const p = frame.id === undefined ? undefined : this.pending.get(frame.id);
      if (!p) return;
      this.pending.delete(frame.id!);
      if (frame.t === 'result') p.resolve(frame.data);
      else if (frame.t === 'error') p.reject(new Error(`${frame.code}: ${frame.message}`));
    });
    ws.on('close', (code, reason) => {
      for (const p of this.pending.values()) p.reject(new Error(`setup socket closed: ${code} ${reason.toString()}`));
      this.pending.clear();
    });
  }

  static async connect(wsUrl: string, identity: Identity): Promise<SetupClient> {
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false });
    // The hello can come in the same read as the upgrade: listen before the socket opens.
    const hello = new Promise<{ challenge?: string }>((resolve, reject) => {
      ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()) as { challenge?: string }));
      ws.once('error', reject);
    });
    const { challenge } = await hello;
    const client = new SetupClient(ws);
    const proof = identity.device && challenge ? TestDevice.import(identity.device).challengeProof(identity.token, challenge) : undefined;
    await client.request({ t: 'auth', v: 1, token: identity.token, ...(proof ? { proof } : {}) });
    return client;
  }

  private request(frame: Record<string, unknown>, timeoutMs = 60_000): Promise<unknown> {
    const id = `s${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`setup request ${JSON.stringify(frame).slice(0, 200)} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  cmd<T = unknown>(cmd: string, args: Record<string, unknown>): Promise<T> {
    return this.request({ t: 'cmd', cmd, args }) as Promise<T>;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close(1000);
    });
  }
}

/** A public channel created by `owner` with every one of `members` (owner excluded) in it. */
export async function createChannel(wsUrl: string, owner: Identity, members: Identity[], name: string): Promise<string> {
  const client = await SetupClient.connect(wsUrl, owner);
  try {
    const ids = members.filter((m) => m.userId !== owner.userId).map((m) => m.userId);
    const first = ids.slice(0, 1000);
    const view = await client.cmd<{ id: string; memberCount: number }>('channel.create', { name, kind: 'public', memberIds: first });
    for (let i = 1000; i < ids.length; i += 1000) await client.cmd('channel.invite', { channelId: view.id, userIds: ids.slice(i, i + 1000) });
    return view.id;
  } finally {
    await client.close();
  }
}

/** DM channels for each pair, opened by `a`. */
export async function openDms(wsUrl: string, pairs: [Identity, Identity][]): Promise<string[]> {
  const started = Date.now();
  const ids = await mapLimit(pairs, 16, async ([a, b]) => {
    const client = await SetupClient.connect(wsUrl, a);
    try {
      const view = await client.cmd<{ id: string }>('dm.open', { userIds: [b.userId] });
      return view.id;
    } finally {
      await client.close();
    }
  });
  log(`opened ${pairs.length} DMs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return ids;
}
