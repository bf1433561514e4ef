/**
 * A bounded cache for hot paths: at most `capacity` entries, kept in two generations. A hit
 * costs one or two Map lookups; when the young generation is full the old one is dropped whole.
 *
 * Not a Map used as an LRU (delete and re-set on every hit, evict `keys().next()`): V8 leaves a
 * deleted entry's slot in place until the table is rebuilt, so each eviction first walks past
 * every slot deleted since — several µs per miss at a few thousand entries, which the blind index
 * paid on every message.
 */
export class TwoGenerationCache<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generationSize: number;

  constructor(capacity: number) {
    this.generationSize = Math.max(0, Math.floor(capacity / 2));
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  /** The cached value, or `make(key)` remembered; a value still used moves to the young generation. */
  getOrMake(key: K, make: (key: K) => V): V {
    const young = this.young.get(key);
    if (young !== undefined) return young;
    const value = this.old.get(key) ?? make(key);
    if (this.generationSize === 0) return value;
    this.young.set(key, value);
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
    }
    return value;
  }
}
