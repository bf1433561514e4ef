/**
 * The transport scenarios (`--scenarios mqtt,longpoll`):
 *  - mqtt: the fan-out workload (1 topic, 1,000 MQTT subscribers, QoS 0, `window` messages in
 *    flight) against Sotong's MQTT adapter and, in the same run with the same load generator,
 *    against the Mosquitto broker at 127.0.0.1:1883. Mosquitto stores nothing; Sotong stores
 *    every message (SQLite, synchronous=FULL) before it fans out.
 *  - longpoll: delivery latency at 100 messages/s into a 100-member channel whose members all
 *    receive by HTTP long-polling.
 */
import { randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TestDevice } from '@sotong/server/testing';
import { log, median, pidsByName, round, sleep } from './common.js';
import { createChannel, probeTcp, startSotongTarget, type Target } from './targets.js';
import type { TransportJob, TransportReport } from './transport-loadgen.js';

const LOADGEN = fileURLToPath(new URL('./transport-loadgen.js', import.meta.url));
const MOSQUITTO = { host: '127.0.0.1', port: 1883 };

export interface TransportConfig {
  reps: number;
  warmupSec: number;
  windowSec: number;
  fanoutMembers: number;
  fanoutWindow: number;
  latencyMembers: number;
}

function runJob(job: TransportJob, budgetSec: number): Promise<TransportReport> {
  return new Promise((resolve) => {
    const child = fork(LOADGEN, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let report: TransportReport | null = null;
    const timer = setTimeout(() => child.kill('SIGKILL'), budgetSec * 1000);
    child.on('message', (m: TransportReport) => (report = m));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(report ?? { ok: false, error: `load generator exited (${code ?? signal}) without a report` });
    });
    child.send(job);
  });
}

const med = (runs: TransportReport[], pick: (r: TransportReport) => number | undefined): number | null => {
  const v = runs.filter((r) => r.ok).map(pick).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? median(v) : null;
};

function summary(r: TransportReport): string {
  if (!r.ok) return `FAILED: ${r.error}`;
  return [
    r.deliveriesPerSec !== undefined ? `${r.deliveriesPerSec} deliveries/s` : '',
    r.sentPerSec !== undefined ? `${r.sentPerSec} sent/s` : '',
    r.pollsPerSec !== undefined ? `${r.pollsPerSec} polls/s` : '',
    r.latency ? `p50 ${r.latency.p50Ms} ms p99 ${r.latency.p99Ms} ms` : '',
    r.serverCpuPct !== undefined ? `server cpu ${r.serverCpuPct}%` : '',
    `loadgen cpu ${r.loadgenCpuPct}%`,
  ]
    .filter(Boolean)
    .join(', ');
}

/** `profile`: the server runs with the bench's CPU profiler (`--profile`); the long-poll load generator profiles its window. */
export async function runTransportScenarios(cfg: TransportConfig, scenarios: Set<string>, env: Record<string, string>, profile = false) {
  const notes: string[] = [];
  const failures: string[] = [];
  const runs: Record<string, TransportReport[]> = { sotongMqtt: [], mosquitto: [], longPoll: [] };
  let target: Target | null = null;
  try {
    target = await startSotongTarget({ env: { ...env, SOTONG_MQTT_PORT: '0' }, name: 'sotong-transports' });
    const budget = 60 + cfg.fanoutMembers / 20 + cfg.warmupSec + cfg.windowSec;
    const timing = { warmupSec: cfg.warmupSec, windowSec: cfg.windowSec };
    if (scenarios.has('mqtt')) {
      const users = await target.users(cfg.fanoutMembers, `mq${randomBytes(3).toString('hex')}`);
      const channelId = await createChannel(target.wsUrl, users[0]!, users, `bench-mqtt-${Date.now()}`);
      const me = (await (await fetch(`${target.httpUrl}/api/v1/me`, { headers: TestDevice.import(users[0]!.device!).requestHeaders(users[0]!.token, 'GET', '/api/v1/me') })).json()) as { workspaceId: string };
      const topic = `sotong/v1/${me.workspaceId}/channels/${channelId}`;
      const sotongJob: TransportJob = {
        kind: 'mqtt-fanout',
        url: `mqtt://127.0.0.1:${target.mqttPort}`,
        topic,
        publishTopic: `${topic}/send`,
        subscribers: users.map((u) => ({ token: u.token, ...(u.device ? { device: u.device } : {}) })),
        publisher: { token: users[0]!.token, ...(users[0]!.device ? { device: users[0]!.device } : {}) },
        window: cfg.fanoutWindow,
        serverPid: target.pid,
        ...timing,
      };
      const down = await probeTcp(MOSQUITTO.host, MOSQUITTO.port);
      if (down) notes.push(`mqtt: Mosquitto at ${MOSQUITTO.host}:${MOSQUITTO.port} unreachable (${down}): no comparison`);
      const brokerTopic = `bench/${randomBytes(4).toString('hex')}/fanout`;
      const mosquittoPid = pidsByName('mosquitto')[0];
      const brokerJob: TransportJob = {
        kind: 'mqtt-fanout',
        url: `mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`,
        topic: brokerTopic,
        publishTopic: brokerTopic,
        subscribers: users.map(() => ({})),
        publisher: {},
        window: cfg.fanoutWindow,
        ...(mosquittoPid ? { serverPid: mosquittoPid } : {}),
        ...timing,
      };
      for (let rep = 0; rep < cfg.reps; rep++) {
        const order = rep % 2 === 0 ? (['mosquitto', 'sotongMqtt'] as const) : (['sotongMqtt', 'mosquitto'] as const);
        for (const name of order) {
          if (name === 'mosquitto' && down) continue;
          const report = await runJob(name === 'mosquitto' ? brokerJob : sotongJob, budget);
          runs[name]!.push(report);
          log(`${name} mqtt fan-out: ${summary(report)}`);
          if (!report.ok) failures.push(`${name}/mqtt: ${report.error}`);
          await sleep(500);
        }
      }
    }
    if (scenarios.has('longpoll')) {
      const members = await target.users(cfg.latencyMembers, `lp${randomBytes(3).toString('hex')}`);
      const channelId = await createChannel(target.wsUrl, members[0]!, members, `bench-longpoll-${Date.now()}`);
      for (let rep = 0; rep < cfg.reps; rep++) {
        const report = await runJob(
          { kind: 'longpoll-latency', httpUrl: target.httpUrl!, wsUrl: target.wsUrl, channelId, members, ratePerSec: 100, serverPid: target.pid, profileWindow: profile, ...timing },
          budget,
        );
        runs.longPoll!.push(report);
        log(`long-poll latency: ${summary(report)}`);
        if (profile) log(`cpu profile of the window: ${env.BENCH_PROFILE_DIR}/window-${target.pid}-${rep + 1}.cpuprofile`);
        if (!report.ok) failures.push(`longpoll: ${report.error}`);
      }
    }
  } catch (err) {
    failures.push(`transport scenarios: ${(err as Error).message}`);
    log((err as Error).stack ?? String(err));
  } finally {
    await target?.stop().catch(() => {});
  }

  const ours = med(runs.sotongMqtt!, (r) => r.deliveriesPerSec);
  const theirs = med(runs.mosquitto!, (r) => r.deliveriesPerSec);
  const ratioToMosquitto = ours !== null && theirs ? round(ours / theirs, 3) : null;
  const lpP99 = med(runs.longPoll!, (r) => r.latency?.p99Ms);
  return {
    mqtt: scenarios.has('mqtt')
      ? {
          subscribers: cfg.fanoutMembers,
          qos: 0,
          inFlight: cfg.fanoutWindow,
          deliveriesPerSec: ours,
          p50Ms: med(runs.sotongMqtt!, (r) => r.latency?.p50Ms),
          p99Ms: med(runs.sotongMqtt!, (r) => r.latency?.p99Ms),
          serverCpuPct: med(runs.sotongMqtt!, (r) => r.serverCpuPct),
          mosquittoDeliveriesPerSec: theirs,
          mosquittoP99Ms: med(runs.mosquitto!, (r) => r.latency?.p99Ms),
          mosquittoCpuPct: med(runs.mosquitto!, (r) => r.serverCpuPct),
          ratioToMosquitto,
          note: 'Mosquitto keeps nothing (QoS 0, no persistence); Sotong stores every message durably (SQLite, synchronous=FULL) before fanning it out.',
        }
      : null,
    longPoll: scenarios.has('longpoll')
      ? {
          members: cfg.latencyMembers,
          ratePerSec: 100,
          sentPerSec: med(runs.longPoll!, (r) => r.sentPerSec),
          pollsPerSec: med(runs.longPoll!, (r) => r.pollsPerSec),
          deliveriesPerSec: med(runs.longPoll!, (r) => r.deliveriesPerSec),
          p50Ms: med(runs.longPoll!, (r) => r.latency?.p50Ms),
          p99Ms: lpP99,
        }
      : null,
    targets: {
      mqttRatioToMosquitto: { target: '>= 0.5', met: ratioToMosquitto === null ? null : ratioToMosquitto >= 0.5 },
      longPollP99Ms: { target: '< 100', met: lpP99 === null ? null : lpP99 < 100 },
    },
    notes,
    failures,
    runs,
  };
}
