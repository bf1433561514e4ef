import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../src/backoff.js';

const options = { baseMs: 100, maxMs: 1_000 };

test('the delay doubles per attempt and stays within [ceiling/2, ceiling]', () => {
  assert.deepEqual([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, options, () => 0)), [50, 100, 200, 400]);
  assert.deepEqual([0, 1, 2, 3].map((attempt) => backoffDelay(attempt, options, () => 1)), [100, 200, 400, 800]);
});

test('the delay never exceeds the maximum', () => {
  assert.equal(backoffDelay(30, options, () => 1), 1_000);
  assert.equal(backoffDelay(30, options, () => 0), 500);
});
