#!/usr/bin/env node
// Runs every compiled test file with Node's test runner (Node 20 takes no globs after --test),
// then the server's test files again on PostgreSQL, so the core suite is held on both stores.
//
//   node scripts/run-tests.mjs [--store=both|sqlite|postgres] [WORD...]
//
// WORDs pick test files whose path contains one of them. The PostgreSQL pass uses
// SOTONG_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); every spawned server
// gets its own schema there. If that PostgreSQL cannot be reached the pass is skipped with a
// reason, except under CI (CI set), where that is a failure.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

function testFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...testFiles(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const redact = (url) => url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');

const args = process.argv.slice(2);
const storeArg = args.find((a) => a.startsWith('--store='))?.slice('--store='.length) ?? 'both';
if (!['both', 'sqlite', 'postgres'].includes(storeArg)) {
  console.error(`--store takes both, sqlite or postgres, not ${storeArg}`);
  process.exit(2);
}
const filter = args.filter((a) => !a.startsWith('--store='));

const roots = ['packages/protocol', 'packages/server', 'packages/sdk', 'packages/web', 'bench']
  .map((pkg) => join(pkg, 'dist', 'test'))
  .filter((dir) => {
    try {
      return statSync(dir).isDirectory();
    } catch {
      return false;
    }
  });
const files = roots.flatMap(testFiles).filter((f) => filter.length === 0 || filter.some((word) => f.includes(word)));
if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
const serverRoot = join('packages', 'server', 'dist', 'test');
const serverFiles = files.filter((f) => f.startsWith(serverRoot));

function runNode(testFileList, env) {
  const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=180000', ...testFileList], { stdio: 'inherit', env });
  return result.status ?? 1;
}

/** Connects and runs `select 1`; returns why it failed, or undefined. */
async function unreachable(url) {
  let pg;
  try {
    pg = (await import('pg')).default;
  } catch (err) {
    return `the pg package is not installed (${err.message})`;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return err.message || err.code || String(err);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Drops what this run's servers left behind (a crashed test never reaches its stop()). */
async function sweepSchemas(url, prefix) {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`select nspname from pg_namespace where starts_with(nspname, $1)`, [prefix]);
    for (const { nspname } of rows) await client.query(`drop schema if exists "${nspname}" cascade`);
    return rows.length;
  } finally {
    await client.end();
  }
}

const outcomes = [];
let failed = false;

if (storeArg !== 'postgres') {
  const env = { ...process.env };
  delete env.SOTONG_TEST_DATABASE_URL;
  const status = runNode(files, env);
  outcomes.push(`SQLite: ${status === 0 ? 'passed' : 'FAILED'} (${files.length} files)`);
  failed ||= status !== 0;
}

if (storeArg !== 'sqlite') {
  const url = process.env.SOTONG_TEST_DATABASE_URL || DEFAULT_PG_URL;
  if (serverFiles.length === 0) {
    outcomes.push('PostgreSQL: no server test files selected');
  } else if (!/^postgres(ql)?:\/\//.test(url)) {
    outcomes.push(`PostgreSQL: FAILED: SOTONG_TEST_DATABASE_URL is not a postgres:// URL: ${redact(url)}`);
    failed = true;
  } else {
    const why = await unreachable(url);
    if (why) {
      const reason = `cannot reach ${redact(url)}: ${why}`;
      if (process.env.CI) {
        outcomes.push(`PostgreSQL: FAILED: ${reason} (under CI the PostgreSQL pass is required)`);
        failed = true;
      } else {
        outcomes.push(`PostgreSQL pass skipped: ${reason} (set SOTONG_TEST_DATABASE_URL, or start PostgreSQL)`);
      }
    } else {
      const prefix = `t_${randomBytes(3).toString('hex')}_`;
      console.log(`\n# PostgreSQL pass: ${serverFiles.length} server test files on ${redact(url)}, schemas ${prefix}*\n`);
      const status = runNode(serverFiles, { ...process.env, SOTONG_TEST_DATABASE_URL: url, SOTONG_TEST_SCHEMA_PREFIX: prefix });
      outcomes.push(`PostgreSQL: ${status === 0 ? 'passed' : 'FAILED'} (${serverFiles.length} server files)`);
      failed ||= status !== 0;
      try {
        const left = await sweepSchemas(url, prefix);
        if (left > 0) console.log(`# dropped ${left} schema(s) that tests left behind`);
      } catch (err) {
        console.log(`# could not sweep test schemas ${prefix}*: ${err.message}`);
      }
    }
  }
}

console.log('');
for (const line of outcomes) console.log(`# ${line}`);
process.exit(failed ? 1 : 0);
