/**
 * The `atrest` scenario: what encryption at rest costs (docs/encryption.md).
 *
 * - Ingest: the `dm` workload (500 pairs, closed loop) against two Sotong servers, one with
 *   SOTONG_AT_REST=true and one with false, interleaved per repetition; `ingestRatio` = on ÷ off.
 * - Search: a real server on a seeded data directory of N encrypted messages (seed.ts), a fixed
 *   mix of queries over the socket, one at a time; p50/p95/p99 of the round trip.
 */
import type { Job, LoadgenReport } from './common.js';
import { log, median, percentile, round } from './common.js';
import { PHRASES, VOCABULARY_SIZE, vocabulary } from './chat-text.js';
import { seededDataDir, type SeededDir } from './seed.js';
import { deviceOf, spawnServer } from '@sotong/server/testing';
import { mapLimit, SetupClient, type Target } from './targets.js';

export const AT_REST_ON = 'sotong-atrest-on';
export const AT_REST_OFF = 'sotong-atrest-off';

/** Messages in the search corpus: the 1,000,000; quick mode a smaller one, said in the report. */
export const SEARCH_MESSAGES = { full: 1_000_000, quick: 50_000 } as const;
/** Timed passes over the query mix (after one untimed warm-up pass). */
const SEARCH_ROUNDS = { full: 20, quick: 5 } as const;

/** What run.ts lends this scenario: its server start, DM fixture, and interleaved run recorder. */
export interface IngestHooks {
  reps: number;
  /** Starts a Sotong server (SQLite, temp folder) named `name` with this extra environment. */
  start(name: string, env: Record<string, string>): Promise<Target>;
  /** Users and 500 DM channels on the target; the DM job for it. */
  dmJob(target: Target): Promise<Job>;
  /** Waits for a quiet server, runs the load generator, records the report under runs[target.name].dm. */
  run(target: Target, job: Job, rep: number): Promise<void>;
  stop(target: Target): Promise<void>;
}

/** Both servers, prepared side by side; then per repetition on/off (off/on in odd ones). */
export async function runAtRestIngest(hooks: IngestHooks): Promise<void> {
  const targets: Target[] = [];
  try {
    const [on, off] = await Promise.all([hooks.start(AT_REST_ON, { SOTONG_AT_REST: 'true' }), hooks.start(AT_REST_OFF, { SOTONG_AT_REST: 'false' })]);
    targets.push(on, off);
    const [onJob, offJob] = await Promise.all([hooks.dmJob(on), hooks.dmJob(off)]);
    await Promise.all([primeDms(on, onJob), primeDms(off, offJob)]);
    for (let rep = 0; rep < hooks.reps; rep++) {
      const pairs: [Target, Job][] = [
        [on, onJob],
        [off, offJob],
      ];
      for (const [target, job] of rep % 2 ? pairs.reverse() : pairs) await hooks.run(target, job, rep);
    }
  } finally {
    for (const t of targets) await hooks.stop(t);
  }
}

/**
 * One message in each DM before any measured run, on both servers alike. With encryption on, a
 * channel's first message makes its data key (a KMS call and an audited key row, each in a
 * transaction of its own): a once-a-day (or once per 100,000 messages) cost per channel that
 * would otherwise fill the first seconds of the first run and be counted as ingest.
 */
async function primeDms(target: Target, job: Job): Promise<void> {
  if (job.kind !== 'dm') return;
  const started = Date.now();
  await mapLimit(job.pairs, 32, async (p, i) => {
    const client = await SetupClient.connect(target.wsUrl, p.a);
    try {
      await client.cmd('message.send', { channelId: p.channelId, clientMsgId: `prime-${i}`, text: `prime ${i}` });
    } finally {
      await client.close();
    }
  });
  log(`${target.name}: one message in each of ${job.pairs.length} DMs in ${((Date.now() - started) / 1000).toFixed(1)} s (keys made before measuring)`);
}

export interface SearchQuery {
  kind: string;
  query: string;
}

/** The fixed mix: common, medium and rare words in both languages, phrases, `in:` filters, a miss. */
export function searchQueries(): SearchQuery[] {
  const v = vocabulary(VOCABULARY_SIZE);
  const medium = 300;
  const rare = 15_000;
  return [
    { kind: 'common ko', query: '회의' },
    { kind: 'common ko', query: '공유' },
    { kind: 'common en', query: 'meeting' },
    { kind: 'medium ko', query: v.korean[medium]! },
    { kind: 'medium en', query: v.english[medium]! },
    { kind: 'rare ko', query: v.korean[rare]! },
    { kind: 'rare en', query: v.english[rare]! },
    { kind: 'absent', query: 'xylophone' },
    { kind: 'phrase ko', query: `"${PHRASES.korean}"` },
    { kind: 'phrase en', query: `"${PHRASES.english}"` },
    { kind: 'two words ko', query: '배포 일정' },
    { kind: 'common ko in:', query: '회의 in:dev' },
    { kind: 'common en in:', query: 'deploy in:ops' },
    { kind: 'rare ko in:', query: `${v.korean[rare]!} in:general` },
  ];
}

export interface AtRestSearch {
  messages: number;
  seed: { reused: boolean; dir: string; seededAt: string; seconds: number; messagesPerSec: number; schema: string };
  rounds: number;
  samples: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The untimed first pass (cold page cache and key cache), worst query. */
  warmupMaxMs: number;
  byQuery: { kind: string; query: string; hits: number; p50Ms: number; maxMs: number }[];
}

/** Seeds (or reuses) the corpus, starts the real server on it, and times the query mix. */
export async function measureAtRestSearch(quick: boolean, serverEnv: Record<string, string>): Promise<AtRestSearch> {
  const count = quick ? SEARCH_MESSAGES.quick : SEARCH_MESSAGES.full;
  const seeded: SeededDir = await seededDataDir(count);
  // The server keeps the cached folder (spawnServer never deletes a folder it was given).
  const server = await spawnServer({ dataDir: seeded.dir, env: { ...serverEnv, SOTONG_AT_REST: 'true', DATABASE_URL: '' } });
  let client: SetupClient | null = null;
  try {
    const token = await server.login(seeded.meta.searcher.email, seeded.meta.searcher.password);
    // The socket signs the hello's challenge with the device that signed in.
    client = await SetupClient.connect(server.wsUrl, { userId: '', token, device: deviceOf(token)!.export() });
    const queries = searchQueries();
    const rounds = quick ? SEARCH_ROUNDS.quick : SEARCH_ROUNDS.full;
    const timesByQuery = queries.map(() => [] as number[]);
    const hits: number[] = [];
    let warmupMax = 0;
    for (let pass = -1; pass < rounds; pass++) {
      for (const [i, q] of queries.entries()) {
        const started = process.hrtime.bigint();
        const result = await client.cmd<{ hits: unknown[] }>('search', { query: q.query, limit: 20 });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (pass < 0) {
          warmupMax = Math.max(warmupMax, ms);
          hits[i] = result.hits.length;
        } else timesByQuery[i]!.push(ms);
      }
    }
    const all = timesByQuery.flat().sort((a, b) => a - b);
    const report: AtRestSearch = {
      messages: count,
      seed: {
        reused: seeded.reused,
        dir: seeded.dir,
        seededAt: seeded.meta.seededAt,
        seconds: seeded.meta.seedSeconds,
        messagesPerSec: seeded.meta.seedMessagesPerSec,
        schema: seeded.meta.schema,
      },
      rounds,
      samples: all.length,
      p50Ms: round(percentile(all, 50), 2),
      p95Ms: round(percentile(all, 95), 2),
      p99Ms: round(percentile(all, 99), 2),
      maxMs: round(all.at(-1)!, 2),
      warmupMaxMs: round(warmupMax, 2),
      byQuery: queries.map((q, i) => ({
        ...q,
        hits: hits[i]!,
        p50Ms: round(median(timesByQuery[i]!), 2),
        maxMs: round(Math.max(...timesByQuery[i]!), 2),
      })),
    };
    log(`atrest search on ${count} messages: p50 ${report.p50Ms} ms p95 ${report.p95Ms} ms p99 ${report.p99Ms} ms (${all.length} searches)`);
    return report;
  } finally {
    await client?.close();
    await server.stop();
  }
}

/** The `atRest` block of the result, and its two targets. */
export function atRestReport(
  runs: Record<string, Partial<Record<string, LoadgenReport[]>>>,
  search: AtRestSearch | null,
  searchNote: string | null,
) {
  const ok = (name: string) => (runs[name]?.dm ?? []).filter((r) => r.ok);
  const med = (list: LoadgenReport[], pick: (r: LoadgenReport) => number | undefined): number | null => {
    const values = list.map(pick).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    return values.length ? median(values) : null;
  };
  const side = (name: string) => {
    const list = ok(name);
    return {
      messagesPerSec: med(list, (r) => r.messagesPerSec),
      p50Ms: med(list, (r) => r.latency?.p50Ms),
      p99Ms: med(list, (r) => r.latency?.p99Ms),
      serverCpuPct: med(list, (r) => r.cpu?.serverPct),
      loadgenCpuPct: med(list, (r) => r.cpu?.loadgenPct),
      messagesPerServerCpuSec: med(list, (r) =>
        r.messagesPerSec === undefined || !r.cpu || r.cpu.serverPct <= 0 ? undefined : Math.round(r.messagesPerSec / (r.cpu.serverPct / 100)),
      ),
    };
  };
  const ratio = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : round(a / b, 3));
  const on = side(AT_REST_ON);
  const off = side(AT_REST_OFF);
  const ingestRatio = ratio(on.messagesPerSec, off.messagesPerSec);
  const searchP95Ms = search?.p95Ms ?? null;
  return {
    atRest: {
      workload: 'dm',
      ingestRatio,
      ingestRatioPerServerCpu: ratio(on.messagesPerServerCpuSec, off.messagesPerServerCpuSec),
      on,
      off,
      searchP95Ms,
      search,
      note: searchNote,
    },
    targets: {
      atRestIngestRatio: { target: '>= 0.9', met: ingestRatio === null ? null : ingestRatio >= 0.9 },
      atRestSearchP95Ms: { target: '< 50', met: searchP95Ms === null ? null : searchP95Ms < 50 },
    },
  };
}
