/**
 * A SQLite data directory holding N encrypted messages, for the at-rest search bench.
 *
 * Seeded in process through the server's own core (`openCore`): users and channels through the
 * services, messages through the same at-rest store layer as `MessageService.send` — the channel
 * key and the keyed (blind) index tokens from `atRest.prepare`, the row sealed (`sealed/v1`) by the
 * layer's `messages.insert`, the tokens written by `search.index`, the seq from `channels.nextSeq`.
 * What it leaves out of send, to seed 1,000,000 rows in minutes rather than an hour on this shared
 * machine: the permission check, read positions and the event log (`events`), and it writes
 * 2,000 messages per transaction instead of the commit queue's batches. Search reads none of those.
 * Durability is lowered while seeding (`SOTONG_SQLITE_SYNCHRONOUS=NORMAL`): a seed that dies is
 * thrown away, never reused.
 *
 * The directory is cached under bench/results/atrest-seed/<newest migration>-<count>-g<generator>/
 * and reused by the next run; it is built in a `.partial` folder renamed when complete.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, migrations, openCore } from '@sotong/server';
import { chatTextGenerator } from './chat-text.js';
import { log, round } from './common.js';

/** Bump when the generator, the channels or the users change: old caches are then not reused. */
export const SEED_GENERATOR_VERSION = 1;
export const SEED_CHANNELS = ['general', 'dev', 'ops', 'sales', 'design', 'random', 'support', 'hr'];
const SEED_USERS = 16;
/** Messages per write transaction: SQLite writes one FTS segment per commit, so big batches seed fast. */
const SEED_BATCH = 2000;
const encoder = new TextEncoder();
/** The same admin as spawnServer's, so the real server started later on this folder agrees. */
const ADMIN = { email: 'admin@sotong.test', password: 'lantern over the quiet harbour' };

export interface SeedMeta {
  messages: number;
  schema: string;
  generatorVersion: number;
  channels: string[];
  /** A member of every channel: the one who searches. */
  searcher: { email: string; password: string };
  seededAt: string;
  seedSeconds: number;
  seedMessagesPerSec: number;
}

export interface SeededDir {
  dir: string;
  meta: SeedMeta;
  /** True when an earlier run's directory was reused (nothing was seeded now). */
  reused: boolean;
}

const CACHE_ROOT = fileURLToPath(new URL('../../results/atrest-seed/', import.meta.url));

export function schemaVersion(): string {
  return Object.keys(migrations('sqlite')).sort().at(-1)!;
}

export async function seededDataDir(count: number): Promise<SeededDir> {
  const schema = schemaVersion();
  const dir = join(CACHE_ROOT, `${schema}-${count}-g${SEED_GENERATOR_VERSION}`);
  const metaFile = join(dir, 'seed.json');
  if (existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as SeedMeta;
    log(`atrest: reusing seeded ${dir} (${meta.messages} messages, seeded ${meta.seededAt})`);
    return { dir, meta, reused: true };
  }
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const meta = await seed(partial, count, schema);
  writeFileSync(join(partial, 'seed.json'), `${JSON.stringify(meta, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return { dir, meta, reused: false };
}

async function seed(dir: string, count: number, schema: string): Promise<SeedMeta> {
  const config = loadConfig(
    {
      DATA_DIR: dir,
      SOTONG_AT_REST: 'true',
      SOTONG_MASTER_KEY_FILE: join(dir, 'master.key'),
      SOTONG_SQLITE_SYNCHRONOUS: 'NORMAL',
      SOTONG_SCRYPT_COST: '1024',
      LOG_LEVEL: 'warn',
    },
    '',
  );
  const core = await openCore(config);
  try {
    const { accounts, channels } = core.services;
    await accounts.bootstrap('Bench', ADMIN.email, ADMIN.password);
    const workspace = (await core.store.read.users.firstWorkspace())!;
    const admin = (await core.store.read.users.byEmail(ADMIN.email))!;
    const adminActor = { userId: admin.id, workspaceId: workspace.id, role: 'owner' as const };
    const searcher = { email: 'searcher@bench.example', password: 'bench-password-1234' };
    const users = [];
    for (let i = 0; i < SEED_USERS; i++) {
      const email = i === 0 ? searcher.email : `writer-${i}@bench.example`;
      users.push(await accounts.createUser('system', { email, displayName: `Writer ${i}`, password: searcher.password, workspaceId: workspace.id }));
    }
    const channelIds: string[] = [];
    for (const name of SEED_CHANNELS) {
      const view = await channels.create(adminActor, { name, kind: 'public', topic: '', purpose: '', memberIds: users.map((u) => u.id) });
      channelIds.push(view.id);
    }
    const senders = users.map((u) => u.id);
    const text = chatTextGenerator(0x5eed);
    const atRest = core.services.deps.atRest;
    const store = core.store;

    log(`atrest: seeding ${count} encrypted messages into ${dir} (${SEED_CHANNELS.length} channels, ${SEED_BATCH} per transaction)`);
    const started = Date.now();
    // One message a second, ending now: results sorted by recency look like a real history.
    const firstAt = started - count * 1000;
    let lastLog = started;
    for (let from = 0; from < count; from += SEED_BATCH) {
      const batch: { i: number; channelId: string; body: string; tokens: string[] }[] = [];
      for (let i = from; i < Math.min(count, from + SEED_BATCH); i++) {
        const channelId = channelIds[i % channelIds.length]!;
        const body = text();
        // The same call MessageService.send makes: the channel key ready, the keyed index tokens.
        const tokens = await atRest.prepare(workspace.id, channelId, body);
        batch.push({ i, channelId, body, tokens });
      }
      await store.transaction(async (tx) => {
        for (const m of batch) {
          const at = firstAt + m.i * 1000;
          const seq = await tx.channels.nextSeq(m.channelId);
          // Sealed by the at-rest layer around the store, as every message row is.
          const pk = await tx.messages.insert({
            id: `m_seed${m.i.toString(36).padStart(8, '0')}${randomBytes(4).toString('hex')}`,
            channel_id: m.channelId,
            seq,
            sender_id: senders[(m.i * 7) % senders.length]!,
            client_msg_id: `seed-${m.i}`,
            thread_root_id: null,
            content_format: 'text/v1',
            content: encoder.encode(JSON.stringify({ text: m.body })),
            created_at: at,
            edited_at: null,
            deleted_at: null,
            pinned_at: null,
            reply_count: 0,
            last_reply_at: null,
            mentions_channel: 0,
            has_file: 0,
            has_link: 0,
          });
          await tx.search.index(pk, m.tokens);
        }
      });
      if (Date.now() - lastLog > 5_000) {
        lastLog = Date.now();
        const done = Math.min(count, from + SEED_BATCH);
        log(`atrest: seeded ${done}/${count} (${Math.round(done / ((lastLog - started) / 1000))}/s)`);
      }
    }
    const seconds = (Date.now() - started) / 1000;
    log(`atrest: seeded ${count} messages in ${seconds.toFixed(1)} s (${Math.round(count / seconds)}/s)`);
    return {
      messages: count,
      schema,
      generatorVersion: SEED_GENERATOR_VERSION,
      channels: SEED_CHANNELS,
      searcher,
      seededAt: new Date().toISOString(),
      seedSeconds: round(seconds, 1),
      seedMessagesPerSec: Math.round(count / seconds),
    };
  } finally {
    await core.close();
  }
}
