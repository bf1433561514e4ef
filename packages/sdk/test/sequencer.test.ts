import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChannelEvent } from '@sotong/protocol';
import { Sequencer, type SyncPage } from '../src/sequencer.js';
import { deferred, posted, waitFor, type Deferred } from './fixtures.js';

interface Fetch {
  channelId: string;
  after: number;
  page: Deferred<SyncPage>;
}

function setup() {
  const applied: number[] = [];
  const fetches: Fetch[] = [];
  const errors: unknown[] = [];
  const sequencer = new Sequencer({
    fetchAfter: (channelId, after) => {
      const page = deferred<SyncPage>();
      fetches.push({ channelId, after, page });
      return page.promise;
    },
    apply: (event) => applied.push(event.seq),
    error: (error) => errors.push(error),
  });
  return { sequencer, applied, fetches, errors };
}

const events = (from: number, to: number): ChannelEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => posted('c1', from + i));

test('applies in-order events and drops duplicates and old ones', () => {
  const { sequencer, applied, fetches } = setup();
  sequencer.start('c1', 3);
  for (const seq of [4, 5, 5, 2, 3, 6, 4]) sequencer.push(posted('c1', seq));
  assert.deepEqual(applied, [4, 5, 6]);
  assert.equal(sequencer.cursor('c1'), 6);
  assert.equal(fetches.length, 0);
});

test('holds an event ahead of its turn, fills the gap with one sync, and applies everything once in order', async () => {
  const { sequencer, applied, fetches } = setup();
  sequencer.start('c1', 0);
  sequencer.push(posted('c1', 1));
  sequencer.push(posted('c1', 4));
  sequencer.push(posted('c1', 5));
  assert.deepEqual(applied, [1]);
  assert.equal(fetches.length, 1, 'a single fill for the gap');
  assert.deepEqual([fetches[0]?.channelId, fetches[0]?.after], ['c1', 1]);

  fetches[0]?.page.resolve({ events: events(2, 5), hasMore: false, lastSeq: 5 });
  await waitFor(() => applied.length === 5, 'the gap to fill');
  assert.deepEqual(applied, [1, 2, 3, 4, 5]);
  assert.equal(fetches.length, 1);
});

test('events arriving during a fill are applied once, in order', async () => {
  const { sequencer, applied, fetches } = setup();
  sequencer.start('c1', 0);
  sequencer.push(posted('c1', 3));
  sequencer.push(posted('c1', 4));
  sequencer.push(posted('c1', 2));
  assert.equal(fetches.length, 1);
  fetches[0]?.page.resolve({ events: events(1, 4), hasMore: false, lastSeq: 4 });
  await waitFor(() => applied.length === 4, 'the fill');
  sequencer.push(posted('c1', 3));
  sequencer.push(posted('c1', 5));
  assert.deepEqual(applied, [1, 2, 3, 4, 5]);
});

test('pages with hasMore until the gap is closed', async () => {
  const { sequencer, applied, fetches } = setup();
  sequencer.start('c1', 0);
  sequencer.observeHead('c1', 5);
  fetches[0]?.page.resolve({ events: events(1, 2), hasMore: true, lastSeq: 2 });
  await waitFor(() => fetches.length === 2, 'the second page');
  assert.equal(fetches[1]?.after, 2);
  fetches[1]?.page.resolve({ events: events(3, 5), hasMore: false, lastSeq: 5 });
  await waitFor(() => applied.length === 5, 'all pages');
  assert.deepEqual(applied, [1, 2, 3, 4, 5]);
});

test('a failed fill is reported, and the next event of the channel tries again', async () => {
  const { sequencer, applied, fetches, errors } = setup();
  sequencer.start('c1', 0);
  sequencer.push(posted('c1', 2));
  fetches[0]?.page.reject(new Error('offline'));
  await waitFor(() => errors.length === 1, 'the error');
  sequencer.push(posted('c1', 3));
  assert.equal(fetches.length, 2);
  assert.equal(fetches[1]?.after, 0);
  fetches[1]?.page.resolve({ events: events(1, 3), hasMore: false, lastSeq: 3 });
  await waitFor(() => applied.length === 3, 'the retried fill');
  assert.deepEqual(applied, [1, 2, 3]);
});

test('a sync page that does not move the cursor is reported instead of looping', async () => {
  const { sequencer, fetches, errors } = setup();
  sequencer.start('c1', 0);
  sequencer.push(posted('c1', 2));
  fetches[0]?.page.resolve({ events: [], hasMore: false, lastSeq: 2 });
  await waitFor(() => errors.length === 1, 'the error');
  assert.equal(fetches.length, 1);
});

test('while paused events wait; resume applies them and fills gaps', async () => {
  const { sequencer, applied, fetches } = setup();
  sequencer.start('c1', 0);
  sequencer.pause();
  sequencer.push(posted('c1', 1));
  sequencer.push(posted('c1', 3));
  assert.deepEqual(applied, []);
  assert.equal(fetches.length, 0);
  sequencer.resume();
  assert.deepEqual(applied, [1]);
  assert.equal(fetches[0]?.after, 1);
  fetches[0]?.page.resolve({ events: events(2, 3), hasMore: false, lastSeq: 3 });
  await waitFor(() => applied.length === 3, 'the fill');
});

test('reset drops held events and abandons fills in flight', async () => {
  const { sequencer, applied, fetches } = setup();
  sequencer.start('c1', 1);
  sequencer.push(posted('c1', 3));
  sequencer.reset();
  fetches[0]?.page.resolve({ events: events(2, 3), hasMore: false, lastSeq: 3 });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(applied, []);
  assert.deepEqual(sequencer.cursors(), { c1: 1 });
  sequencer.push(posted('c1', 2));
  assert.deepEqual(applied, [2]);
});

test('events of untracked or forgotten channels are dropped', () => {
  const { sequencer, applied } = setup();
  sequencer.push(posted('c1', 1));
  sequencer.start('c2', 0);
  sequencer.forget('c2');
  sequencer.push(posted('c2', 1));
  assert.deepEqual(applied, []);
  assert.deepEqual(sequencer.cursors(), {});
});

test('channels are independent', () => {
  const { sequencer, applied, fetches } = setup();
  sequencer.start('c1', 0);
  sequencer.start('c2', 10);
  sequencer.push(posted('c1', 2));
  sequencer.push(posted('c2', 11));
  assert.deepEqual(applied, [11]);
  assert.deepEqual(fetches.map((f) => f.channelId), ['c1']);
});

test('an apply that throws is reported and does not wedge the channel', () => {
  const errors: unknown[] = [];
  const applied: number[] = [];
  const sequencer = new Sequencer({
    fetchAfter: () => Promise.reject(new Error('unused')),
    apply: (event) => {
      applied.push(event.seq);
      if (event.seq === 1) throw new Error('bad listener');
    },
    error: (error) => errors.push(error),
  });
  sequencer.start('c1', 0);
  sequencer.push(posted('c1', 1));
  sequencer.push(posted('c1', 2));
  assert.deepEqual(applied, [1, 2]);
  assert.equal(errors.length, 1);
});
