import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SotongError, type Message } from '@sotong/protocol';
import { Outbox, type OutboxEntry, type SendArgs } from '../src/outbox.js';
import { deferred, message, waitFor, type Deferred } from './fixtures.js';

interface Attempt {
  args: SendArgs;
  result: Deferred<Message>;
}

function setup(options: { online?: boolean } = {}) {
  const attempts: Attempt[] = [];
  let snapshots: (readonly OutboxEntry[])[] = [];
  let nextId = 1;
  const outbox = new Outbox({
    send: (args) => {
      const result = deferred<Message>();
      attempts.push({ args, result });
      return result.promise;
    },
    changed: (entries) => snapshots.push(entries),
    retryDelayMs: () => 1,
    newClientMsgId: () => `cm${nextId++}`,
  });
  outbox.setOnline(options.online ?? true);
  const statuses = () => outbox.list().map((entry) => `${entry.clientMsgId}:${entry.status}`);
  return { outbox, attempts, statuses, snapshots: () => snapshots, clearSnapshots: () => (snapshots = []) };
}

const ack = (args: SendArgs, seq: number) => message(args.channelId, seq, { clientMsgId: args.clientMsgId, text: args.text });

test('a sent message is acknowledged, resolved and leaves the outbox', async () => {
  const { outbox, attempts, statuses } = setup();
  const sent = outbox.enqueue('c1', 'hello', 'root1');
  assert.deepEqual(statuses(), ['cm1:sending']);
  assert.deepEqual(attempts[0]?.args, { channelId: 'c1', clientMsgId: 'cm1', text: 'hello', threadRootId: 'root1' });
  attempts[0]?.result.resolve(ack(attempts[0].args, 7));
  assert.equal((await sent).seq, 7);
  assert.deepEqual(statuses(), []);
});

test('a channel sends one message at a time, in the order written', async () => {
  const { outbox, attempts, statuses } = setup();
  const first = outbox.enqueue('c1', 'one');
  const second = outbox.enqueue('c1', 'two');
  const other = outbox.enqueue('c2', 'elsewhere');
  assert.deepEqual(statuses(), ['cm1:sending', 'cm2:queued', 'cm3:sending']);
  assert.deepEqual(attempts.map((a) => a.args.text), ['one', 'elsewhere']);
  attempts[0]?.result.resolve(ack(attempts[0].args, 1));
  await first;
  assert.deepEqual(attempts.map((a) => a.args.text), ['one', 'elsewhere', 'two']);
  attempts[2]?.result.resolve(ack(attempts[2].args, 2));
  attempts[1]?.result.resolve(ack(attempts[1].args, 1));
  await Promise.all([second, other]);
  assert.deepEqual(statuses(), []);
});

test('offline, messages wait; online, they are sent', () => {
  const { outbox, attempts, statuses } = setup({ online: false });
  void outbox.enqueue('c1', 'later');
  assert.equal(attempts.length, 0);
  assert.deepEqual(statuses(), ['cm1:queued']);
  outbox.setOnline(true);
  assert.equal(attempts.length, 1);
});

test('connection loss keeps the message queued and re-sends it with the same clientMsgId when back online', async () => {
  const { outbox, attempts, statuses } = setup();
  const sent = outbox.enqueue('c1', 'hello');
  outbox.setOnline(false);
  attempts[0]?.result.reject(new SotongError('unavailable', 'connection lost'));
  await waitFor(() => statuses()[0] === 'cm1:queued', 'the message to be queued again');
  assert.equal(outbox.list()[0]?.error?.code, 'unavailable');
  assert.equal(attempts.length, 1);
  outbox.setOnline(true);
  assert.equal(attempts.length, 2);
  assert.equal(attempts[1]?.args.clientMsgId, 'cm1');
  attempts[1]?.result.resolve(ack(attempts[1].args, 3));
  assert.equal((await sent).seq, 3);
  assert.equal(outbox.list().length, 0);
});

test('a passing error while online retries after the backoff delay', async () => {
  const { outbox, attempts } = setup();
  const sent = outbox.enqueue('c1', 'hello');
  attempts[0]?.result.reject(new SotongError('rate_limited', 'slow down'));
  await waitFor(() => attempts.length === 2, 'the retry');
  assert.equal(attempts[1]?.args.clientMsgId, 'cm1');
  assert.equal(outbox.list()[0]?.attempts, 2);
  attempts[1]?.result.resolve(ack(attempts[1].args, 1));
  await sent;
});

test('a refusal marks the message failed, rejects it, and lets the next one go', async () => {
  const { outbox, attempts, statuses } = setup();
  const refused = outbox.enqueue('c1', 'x'.repeat(10));
  const next = outbox.enqueue('c1', 'fine');
  attempts[0]?.result.reject(new SotongError('too_large', 'too long'));
  await assert.rejects(refused, (error: SotongError) => error.code === 'too_large');
  assert.deepEqual(statuses(), ['cm1:failed', 'cm2:sending']);
  attempts[1]?.result.resolve(ack(attempts[1].args, 1));
  await next;
  assert.deepEqual(statuses(), ['cm1:failed']);
});

test('a failed message can be retried or discarded', async () => {
  const { outbox, attempts, statuses } = setup();
  const first = outbox.enqueue('c1', 'one');
  attempts[0]?.result.reject(new SotongError('forbidden', 'no'));
  await assert.rejects(first);
  const again = outbox.retry('cm1');
  assert.deepEqual(statuses(), ['cm1:sending']);
  assert.equal(outbox.list()[0]?.error, undefined);
  attempts[1]?.result.resolve(ack(attempts[1].args, 1));
  assert.equal((await again).clientMsgId, 'cm1');

  const second = outbox.enqueue('c1', 'two');
  attempts[2]?.result.reject(new SotongError('forbidden', 'no'));
  await assert.rejects(second);
  assert.equal(outbox.discard('cm2'), true);
  assert.deepEqual(statuses(), []);
  await assert.rejects(outbox.retry('cm2'), (error: SotongError) => error.code === 'not_found');
});

test('the posted event acknowledges a message before its send result arrives', async () => {
  const { outbox, attempts, statuses } = setup();
  const first = outbox.enqueue('c1', 'one');
  void outbox.enqueue('c1', 'two');
  outbox.acknowledge(ack(attempts[0]!.args, 1));
  assert.equal((await first).seq, 1);
  assert.deepEqual(statuses(), ['cm2:sending']);
  attempts[0]?.result.resolve(ack(attempts[0].args, 1));
  assert.deepEqual(statuses(), ['cm2:sending']);
});

test('failAll fails everything unacknowledged', async () => {
  const { outbox } = setup();
  const sending = outbox.enqueue('c1', 'one');
  const queued = outbox.enqueue('c1', 'two');
  outbox.failAll(new SotongError('unavailable', 'client closed'));
  await assert.rejects(sending);
  await assert.rejects(queued);
  assert.deepEqual(outbox.list().map((entry) => entry.status), ['failed', 'failed']);
});

test('a change replaces only the entry it concerns, so a UI can compare entries by reference', () => {
  const { outbox, snapshots, clearSnapshots } = setup({ online: false });
  void outbox.enqueue('c1', 'one');
  void outbox.enqueue('c2', 'two');
  const [one, two] = outbox.list();
  clearSnapshots();
  outbox.setOnline(true);
  const [firstSent] = snapshots();
  assert.equal(firstSent?.[0]?.status, 'sending');
  assert.notEqual(firstSent?.[0], one);
  assert.equal(firstSent?.[1], two);
  assert.equal(one?.status, 'queued');
});
