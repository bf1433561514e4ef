import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import Sqlite from 'better-sqlite3';
import { openSqlite } from '../src/store/sqlite.js';
import { LOG_LIMIT_PAGES, WalCheckpointer } from '../src/store/wal-checkpointer.js';

const MB = 1024 * 1024;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A writer that checkpoints by itself only past `limitPages` (the store's is 64 MiB), having written 8 MiB (~2,100 pages) into the log. */
function writtenLog(limitPages = LOG_LIMIT_PAGES, beforeWriting: (file: string) => void = () => {}): { file: string; writer: Sqlite.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'sotong-wal-'));
  dirs.push(dir);
  const file = join(dir, 'db.sqlite');
  openSqlite({ file, synchronous: 'NORMAL' }).db.destroy();
  const writer = new Sqlite(file);
  writer.pragma(`wal_autocheckpoint = ${limitPages}`);
  writer.exec('create table t (b blob)');
  beforeWriting(file);
  const insert = writer.prepare('insert into t values (randomblob(?))');
  for (let i = 0; i < 64; i++) writer.transaction(() => insert.run(128 * 1024))();
  return { file, writer };
}

async function untilFileHolds(file: string, bytes: number): Promise<number> {
  for (let i = 0; i < 100 && statSync(file).size < bytes; i++) await sleep(50);
  return statSync(file).size;
}

describe('SQLite log checkpointed by a worker thread', () => {
  it('a writer below its own checkpoint limit leaves its writes in the log', async () => {
    const { file, writer } = writtenLog();
    await sleep(300);
    assert.ok(statSync(file).size < MB, `the database file stayed small: ${statSync(file).size} bytes`);
    assert.ok(statSync(`${file}-wal`).size >= 8 * MB);
    writer.close();
  });

  it('the checkpointer copies them into the database file, and the writer goes on writing meanwhile', async () => {
    const { file, writer } = writtenLog();
    const errors: string[] = [];
    const checkpointer = new WalCheckpointer({ file, intervalMs: 20 }, (m) => errors.push(m));
    const size = await untilFileHolds(file, 8 * MB);
    assert.ok(size >= 8 * MB, `the database file holds the 8 MiB written: ${size} bytes`);
    writer.prepare('insert into t values (randomblob(10))').run();
    await checkpointer.stop();
    assert.equal((writer.prepare('select count(*) as n from t').get() as { n: number }).n, 65);
    assert.deepEqual(errors, []);
    writer.close();
  });

  it('under steady writes the log stays bounded: the writer resets it at its own limit, with little left to copy', async () => {
    let checkpointer: WalCheckpointer | undefined;
    // The worker runs all along, as in the store; the writer's limit is 500 pages here.
    const { file, writer } = writtenLog(500, (f) => (checkpointer = new WalCheckpointer({ file: f, intervalMs: 20 }, () => {})));
    const [state] = writer.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
    assert.ok(state!.log < 600, `the log was reset on the way: ${state!.log} pages in it, not ~2,100`);
    // The last pages may still be in the log while the worker is copying them (the writer's own PASSIVE check then skips).
    const size = await untilFileHolds(file, 8 * MB);
    assert.ok(size >= 8 * MB, `the database file holds the 8 MiB written: ${size} bytes`);
    await checkpointer!.stop();
    writer.close();
  });
});
