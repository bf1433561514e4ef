import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openPostgresStore } from '../src/store/postgres-provider.js';
import type { Store, StoreProvider } from '../src/store/store.js';
import { testDatabaseUrl } from './support/postgres.js';

const url = testDatabaseUrl();

/** Two callers that wait for each other once, so that both hold their first lock before taking the second. */
function rendezvous(): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    if (++arrived === 2) release();
    return all;
  };
}

/**
 * Two nodes' transactions that lock two channel rows in opposite orders deadlock; PostgreSQL aborts
 * one (40P01) and the provider runs it again, so neither caller sees an error and each write
 * lands exactly once.
 */
describe('PostgreSQL transactions aborted by a deadlock are run again', { skip: url ? false : 'needs PostgreSQL: set SOTONG_TEST_DATABASE_URL=postgres://…' }, () => {
  const schema = `${process.env.SOTONG_TEST_SCHEMA_PREFIX ?? 't_'}retry_${randomBytes(4).toString('hex')}`;
  let one: StoreProvider;
  let two: StoreProvider;

  before(async () => {
    const options = { url: url!, poolSize: 2, statementTimeoutMs: 15_000, applicationName: 'sotong-test', schema };
    one = await openPostgresStore(options);
    two = await openPostgresStore(options);
    await one.transaction(async (tx) => {
      await tx.users.createWorkspace('w', 'w', 0);
      for (const id of ['a', 'b']) {
        await tx.channels.insert({
          id,
          workspace_id: 'w',
          kind: 'public',
          name: id,
          topic: '',
          purpose: '',
          created_by: 'u',
          created_at: 0,
          archived_at: null,
          last_seq: 0,
          member_count: 0,
          dm_key: null,
          deleted_at: null,
        });
      }
    });
  });
  after(async () => {
    await one?.close();
    await two?.close();
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query(`drop schema if exists ${schema} cascade`);
    await db.end();
  });

  const seqs = async () => [Number((await one.read.channels.byId('a'))!.last_seq), Number((await one.read.channels.byId('b'))!.last_seq)];

  async function crossing(wrap: (tx: Store, work: () => Promise<void>) => Promise<void>): Promise<number> {
    const meet = rendezvous();
    let attempts = 0;
    const writer = (provider: StoreProvider, first: string, second: string) =>
      provider.transaction(async (tx) => {
        attempts++;
        const retry = attempts > 2;
        await tx.channels.nextSeq(first);
        if (!retry) await meet();
        await wrap(tx, async () => void (await tx.channels.nextSeq(second)));
      });
    await Promise.all([writer(one, 'a', 'b'), writer(two, 'b', 'a')]);
    return attempts;
  }

  it('retries a transaction that deadlocked', async () => {
    const before = await seqs();
    const attempts = await crossing((_tx, work) => work());
    assert.equal(attempts, 3, 'one of the two ran twice');
    assert.deepEqual(await seqs(), [before[0]! + 2, before[1]! + 2], 'each committed increment counted once');
  });

  it('retries the whole transaction when the deadlock hit inside a savepoint whose error was caught', async () => {
    const before = await seqs();
    let caught = 0;
    const attempts = await crossing(async (tx, work) => {
      // As the commit queue does: a failing write inside its savepoint is recorded, not rethrown.
      await tx.withSavepoint(work).catch(() => caught++);
    });
    assert.equal(caught, 1);
    assert.equal(attempts, 3);
    assert.deepEqual(await seqs(), [before[0]! + 2, before[1]! + 2]);
  });

  it('does not retry other errors', async () => {
    let attempts = 0;
    await assert.rejects(
      one.transaction(async (tx) => {
        attempts++;
        await tx.users.createWorkspace('w', 'again', 0);
      }),
      (err: { code?: string }) => err.code === '23505',
    );
    assert.equal(attempts, 1);
  });
});
