/**
 * Load generator for the transport scenarios (a forked child of transport-scenarios.ts, one per
 * run): MQTT fan-out against Sotong's MQTT adapter or a broker, and long-poll delivery latency.
 * Takes one job over IPC, answers one report, exits.
 */
import http from 'node:http';
import mqtt, { type MqttClient } from 'mqtt';
import { TestDevice } from '@sotong/server/testing';
import WebSocket from 'ws';
import { type Identity, type LatencySummary, readCpuSec, round, Samples, sleep } from './common.js';

export interface MqttFanoutJob {
  kind: 'mqtt-fanout';
  url: string;
  /** Subscribed by every subscriber (QoS 0). */
  topic: string;
  /** Where the publisher publishes (Sotong: the channel's send topic; a broker: `topic`). */
  publishTopic: string;
  /** Per subscriber (Sotong: a token and its device, which signs the CONNECT; a broker: none). */
  subscribers: MqttLogin[];
  publisher: MqttLogin;
  window: number;
  warmupSec: number;
  windowSec: number;
  serverPid?: number;
}

export interface LongPollLatencyJob {
  kind: 'longpoll-latency';
  httpUrl: string;
  wsUrl: string;
  channelId: string;
  /** members[0] sends over a WebSocket; every member receives over long-poll. */
  members: Identity[];
  ratePerSec: number;
  warmupSec: number;
  windowSec: number;
  serverPid?: number;
  /** Toggle the server's CPU profiler (bench cpu-profile.ts, SIGUSR2) around the window. */
  profileWindow?: boolean;
}

export type TransportJob = MqttFanoutJob | LongPollLatencyJob;

export interface TransportReport {
  ok: boolean;
  error?: string;
  deliveriesPerSec?: number;
  messagesPerSec?: number;
  sentPerSec?: number;
  /** Long-poll: answered polls per second (each carries every frame queued since the last). */
  pollsPerSec?: number;
  latency?: LatencySummary;
  serverCpuPct?: number;
  loadgenCpuPct?: number;
}

const MARKER = /"text":"m(\d+)-(\d+)"/;

export interface MqttLogin {
  token?: string;
  /** The token's device key (`TestDevice.export()`). */
  device?: string;
}

/** MQTT 3.1.1: the password is the token, the username the device's proof over this CONNECT. */
async function connectMqtt(url: string, login: MqttLogin): Promise<MqttClient> {
  const auth = login.token && login.device ? { username: TestDevice.import(login.device).mqttConnectProof(login.token), password: login.token } : {};
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, keepalive: 60, ...auth });
  await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
  return client;
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** CPU of the server and of this process over a window, in % of one core. */
function cpuMeter(serverPid: number | undefined) {
  const t0 = Date.now();
  const s0 = serverPid ? readCpuSec(serverPid) : 0;
  const l0 = process.cpuUsage();
  return () => {
    const sec = (Date.now() - t0) / 1000;
    const l = process.cpuUsage(l0);
    return {
      ...(serverPid ? { serverCpuPct: round(((readCpuSec(serverPid) - s0) / sec) * 100, 1) } : {}),
      loadgenCpuPct: round(((l.user + l.system) / 1e6 / sec) * 100, 1),
    };
  };
}

/** One topic, N subscribers at QoS 0, one publisher keeping `window` messages in flight; a message completes when every subscriber has it. */
async function mqttFanout(job: MqttFanoutJob): Promise<TransportReport> {
  const subscribers: MqttClient[] = [];
  await inBatches(job.subscribers, 100, async (auth) => {
    const c = await connectMqtt(job.url, auth);
    await c.subscribeAsync(job.topic, { qos: 0 });
    subscribers.push(c);
  });
  const publisher = await connectMqtt(job.url, job.publisher);
  const run = `${process.pid}${Date.now() % 100000}`;
  const pending = new Map<number, { sentAt: number; left: number }>();
  const samples = new Samples();
  let measuring = false;
  let deliveries = 0;
  let completed = 0;
  let next = 0;
  let stopped = false;
  const send = () => {
    if (stopped) return;
    const n = next++;
    pending.set(n, { sentAt: performance.now(), left: subscribers.length });
    publisher.publish(job.publishTopic, JSON.stringify({ clientMsgId: `m${run}-${n}`, text: `m${run}-${n}` }), { qos: 0 });
  };
  for (const c of subscribers) {
    c.on('message', (_topic, payload) => {
      const m = MARKER.exec(payload.toString('latin1'));
      if (!m || m[1] !== run) return;
      const p = pending.get(Number(m[2]));
      if (!p) return;
      if (measuring) {
        deliveries++;
        samples.push(performance.now() - p.sentAt);
      }
      if (--p.left === 0) {
        pending.delete(Number(m[2]));
        if (measuring) completed++;
        send();
      }
    });
  }
  for (let i = 0; i < job.window; i++) send();
  await sleep(job.warmupSec * 1000);
  const cpu = cpuMeter(job.serverPid);
  measuring = true;
  const t0 = performance.now();
  await sleep(job.windowSec * 1000);
  measuring = false;
  const sec = (performance.now() - t0) / 1000;
  const usage = cpu();
  stopped = true;
  await Promise.all([...subscribers, publisher].map((c) => c.endAsync(true).catch(() => {})));
  if (completed === 0) return { ok: false, error: 'no message reached every subscriber in the window' };
  return { ok: true, deliveriesPerSec: Math.round(deliveries / sec), messagesPerSec: round(completed / sec, 1), latency: samples.summary(), ...usage };
}

/**
 * A GET on a kept-alive connection with node:http: the poll loop's client. fetch (undici) cost
 * the load generator about as much CPU per poll as the server spent answering it, on the same
 * two cores, which showed up as latency.
 */
const keepAlive = new http.Agent({ keepAlive: true });
function httpGet(url: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: keepAlive, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** Paced sends over a WebSocket; every member receives by long-polling; latency = receive − send. */
async function longPollLatency(job: LongPollLatencyJob): Promise<TransportReport> {
  const samples = new Samples();
  let measuring = false;
  let stopped = false;
  let deliveries = 0;
  let pollFailure: string | undefined;
  let polls = 0;
  const receivers = await Promise.all(
    job.members.map(async (member) => {
      const opened = (await (await fetch(`${job.httpUrl}/lp`, { method: 'POST' })).json()) as { id: string };
      const base = `${job.httpUrl}/lp/${opened.id}`;
      // The first frame is the hello with the challenge the device signs.
      const first = (await (await fetch(`${base}/poll?from=0`)).json()) as { frames: { t: string; challenge?: string }[] };
      const challenge = first.frames.find((f) => f.t === 'hello')?.challenge;
      const proof = member.device && challenge ? TestDevice.import(member.device).challengeProof(member.token, challenge, 'long-poll') : undefined;
      await fetch(`${base}/send`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ t: 'auth', id: 'a', v: 1, token: member.token, ...(proof ? { proof } : {}) }) });
      // Signed in: every further request carries the device's REST proof.
      const device = member.device ? TestDevice.import(member.device) : undefined;
      const signed = (method: string, url: string) => {
        const { pathname, search } = new URL(url);
        return device ? device.requestHeaders(member.token, method, pathname + search) : {};
      };
      return { base, signed };
    }),
  );
  const loops = receivers.map(async ({ base, signed }) => {
    let from = 0;
    while (!stopped) {
      const url = `${base}/poll?from=${from}`;
      const res = await httpGet(url, signed('GET', url)).catch((err: Error) => ({ status: 0, text: err.message }));
      if (res.status !== 200) {
        if (!stopped) pollFailure ??= `poll answered ${res.status}: ${res.text}`;
        return;
      }
      const text = res.text;
      const now = performance.now();
      if (measuring) polls++;
      const body = JSON.parse(text) as { next: number; frames: { t: string; e?: { type: string; message?: { text: string } } }[] };
      from = body.next;
      for (const f of body.frames) {
        const sentAt = f.t === 'event' && f.e?.type === 'message.posted' ? /^t([\d.]+)$/.exec(f.e.message?.text ?? '')?.[1] : undefined;
        if (sentAt && measuring) {
          deliveries++;
          samples.push(now - Number(sentAt));
        }
      }
    }
  });
  const ws = new WebSocket(job.wsUrl);
  const hello = await new Promise<{ challenge?: string }>((resolve, reject) => ws.once('message', (d) => resolve(JSON.parse(d.toString()) as { challenge?: string })).once('error', reject));
  const sender = job.members[0]!;
  const proof = sender.device && hello.challenge ? TestDevice.import(sender.device).challengeProof(sender.token, hello.challenge) : undefined;
  ws.send(JSON.stringify({ t: 'auth', id: 'a', v: 1, token: sender.token, ...(proof ? { proof } : {}) }));
  await sleep(300);
  let sent = 0;
  let measuredSent = 0;
  // message.send is idempotent per (channel, sender, clientMsgId): every repetition posts into the
  // same channel as the same sender, so the ids must be unique per run or later runs post nothing.
  const run = `${process.pid}-${Date.now()}`;
  const interval = 1000 / job.ratePerSec;
  const started = performance.now();
  // An open loop: a late timer sends what fell due meanwhile, so the offered rate holds on a busy machine.
  const pace = (async () => {
    while (!stopped) {
      const now = performance.now();
      while (sent < (now - started) / interval) {
        ws.send(JSON.stringify({ t: 'cmd', id: `s${sent}`, cmd: 'message.send', args: { channelId: job.channelId, clientMsgId: `lp${run}-${sent}`, text: `t${started + sent * interval}` } }));
        sent++;
        if (measuring) measuredSent++;
      }
      await sleep(Math.max(1, started + sent * interval - performance.now()));
    }
  })();
  await sleep(job.warmupSec * 1000);
  const toggleProfiler = () => job.profileWindow && job.serverPid && process.kill(job.serverPid, 'SIGUSR2');
  toggleProfiler();
  const cpu = cpuMeter(job.serverPid);
  measuring = true;
  const t0 = performance.now();
  await sleep(job.windowSec * 1000);
  measuring = false;
  const sec = (performance.now() - t0) / 1000;
  const usage = cpu();
  toggleProfiler();
  stopped = true;
  await pace;
  ws.close();
  await Promise.all(receivers.map(({ base, signed }) => fetch(base, { method: 'DELETE', headers: signed('DELETE', base) }).catch(() => {})));
  await Promise.race([Promise.all(loops), sleep(2000)]);
  if (deliveries === 0) return { ok: false, error: `no long-poll deliveries in the window${pollFailure ? ` (${pollFailure})` : ''}` };
  return { ok: true, sentPerSec: round(measuredSent / sec, 1), pollsPerSec: Math.round(polls / sec), deliveriesPerSec: Math.round(deliveries / sec), latency: samples.summary(), ...usage };
}

process.once('message', (job: TransportJob) => {
  const run = job.kind === 'mqtt-fanout' ? mqttFanout(job) : longPollLatency(job);
  run
    .catch((err: unknown): TransportReport => ({ ok: false, error: (err as Error).stack ?? String(err) }))
    .then((report) => process.send!(report, () => process.exit(0)));
});
