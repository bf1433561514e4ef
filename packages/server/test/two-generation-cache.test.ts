import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TwoGenerationCache } from '../src/two-generation-cache.js';

describe('two-generation cache', () => {
  it('makes each value once while it is in use, and never holds more than its capacity', () => {
    const cache = new TwoGenerationCache<string, string>(100);
    const made: string[] = [];
    const make = (k: string) => (made.push(k), k.toUpperCase());
    for (let i = 0; i < 10_000; i++) {
      assert.equal(cache.getOrMake('hot', make), 'HOT');
      assert.equal(cache.getOrMake(`cold ${i}`, make), `COLD ${i}`);
      assert.ok(cache.size <= 100, `${cache.size} entries`);
    }
    assert.equal(made.filter((k) => k === 'hot').length, 1, 'a value used all along is made once');
    assert.equal(made.length, 10_001);
  });

  it('makes a value again once it has gone unused for two generations', () => {
    const cache = new TwoGenerationCache<number, number>(4);
    let made = 0;
    const make = (k: number) => (made++, k * 2);
    cache.getOrMake(1, make);
    for (let i = 2; i < 6; i++) cache.getOrMake(i, make);
    assert.equal(cache.getOrMake(1, make), 2);
    assert.equal(made, 6);
  });

  it('with no capacity caches nothing', () => {
    const cache = new TwoGenerationCache<string, number>(0);
    let made = 0;
    cache.getOrMake('a', () => ++made);
    cache.getOrMake('a', () => ++made);
    assert.equal(made, 2);
    assert.equal(cache.size, 0);
  });
});
