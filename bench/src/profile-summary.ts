/**
 * Summarises a server .cpuprofile written by `--profile`: where the window's time went, by
 * category (SQLite native calls, Kysely query building, socket writes, GC, …), and SQLite native
 * time by the store function that issued the statement (COMMIT shows as `commitTransaction`).
 *
 *   node bench/dist/src/profile-summary.js DIR/sotong-dm-rep1.cpuprofile
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const SQLITE_NATIVE = new Set(['run', 'all', 'get', 'prepare', 'exec', 'iterate']);
const WRITES = new Set(['writev', 'writeUtf8String', 'writeBuffer', 'writeLatin1String']);

function category({ functionName: f, url: u }: CallFrame): string {
  if (f === '(idle)') return 'idle';
  if (f === '(garbage collector)') return 'garbage collector';
  if (!u && SQLITE_NATIVE.has(f)) return 'SQLite native (better-sqlite3 run/all/get/prepare)';
  if (!u && WRITES.has(f)) return 'socket writes (writev syscalls)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (pkg) return pkg[1] === 'kysely' ? 'kysely (query building and compiling)' : `${pkg[1]} (js)`;
  const src = /\/dist\/src\/([^/]+)\//.exec(u);
  if (src) return `server src/${src[1]}/`;
  if (u.startsWith('node:')) return 'node internals';
  if (!u) return `native: ${f}`;
  return `other: ${u.split('/').slice(-2).join('/')}`;
}

function pct(part: number, total: number): string {
  return `${((part / total) * 100).toFixed(1).padStart(5)} %`;
}

function main(file: string): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
  const categories = new Map<string, number>();
  const statements = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)!.callFrame;
    const cat = category(frame);
    categories.set(cat, (categories.get(cat) ?? 0) + dt);
    if (!frame.url && SQLITE_NATIVE.has(frame.functionName)) {
      let label = '(unknown caller)';
      for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
        const c = byId.get(p)!.callFrame;
        if (c.functionName === 'commitTransaction') {
          label = 'COMMIT (commitTransaction)';
          break;
        }
        if (/\/dist\/src\/store\//.test(c.url) && !c.url.endsWith('sqlite-driver.js')) {
          label = `${c.functionName || '(anonymous)'} ${c.url.split('/dist/src/')[1]}:${c.lineNumber + 1}`;
          break;
        }
      }
      const key = `${frame.functionName} ← ${label}`;
      statements.set(key, (statements.get(key) ?? 0) + dt);
    }
  });
  process.stdout.write(`${file}: ${(total / 1000).toFixed(0)} ms sampled\n\nself time by category\n`);
  for (const [k, t] of [...categories].sort((a, b) => b[1] - a[1]).slice(0, 15)) process.stdout.write(`  ${pct(t, total)}  ${k}\n`);
  if (statements.size > 0) {
    process.stdout.write(`\nSQLite native time by caller\n`);
    for (const [k, t] of [...statements].sort((a, b) => b[1] - a[1]).slice(0, 12)) process.stdout.write(`  ${pct(t, total)}  ${k}\n`);
  }
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node bench/dist/src/profile-summary.js FILE.cpuprofile\n');
  process.exit(2);
}
main(file);
