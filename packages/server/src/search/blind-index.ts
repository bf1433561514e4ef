import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { TwoGenerationCache } from '../two-generation-cache.js';
import { queryPhrases, tokenize } from './tokenize.js';

/** Bits of each keyed token kept: 80 (collisions among even 10⁸ distinct tokens are improbable). */
const TOKEN_NIBBLES = 20;
const CJK_CHAR = /^[\p{Script=Hangul}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]$/u;
/** Hex in letters a–p: a plain word to FTS5's unicode61 and to PostgreSQL's parser alike (digits could be read as numbers). */
const LETTERS = 'abcdefghijklmnop';
/** Keyed tokens remembered per index key: chat words repeat, and an HMAC costs a few µs each. */
export const TOKEN_CACHE_SIZE = 8192;

/**
 * Search without a plaintext index: every normalised token (words, Hangul/CJK bigrams, from
 * tokenize.ts) becomes HMAC-SHA-256 under the workspace's index key, so the index holds no word,
 * and phrase search works unchanged on the keyed tokens (same order, same positions).
 *
 * A lone Hangul/CJK syllable in a query used to be a prefix of the bigrams; a keyed hash has no
 * prefix, so each CJK character of a document is also indexed as a separate keyed token (in its
 * own domain, after the ordinary tokens so phrases keep their positions) and the query looks it
 * up. That finds the syllable anywhere in a run, not only first in a bigram.
 *
 * Leakage (docs/encryption.md): equal tokens give equal hashes, so whoever reads the index sees
 * which messages share tokens and how often each occurs, though not what they are.
 */
export class BlindIndex {
  /** Token → keyed token. It maps words to their hashes: never logged (see below). */
  readonly #cache: TwoGenerationCache<string, string>;
  readonly #keyed = (input: string) => this.keyed(input);

  constructor(
    private readonly key: Buffer,
    cacheSize = TOKEN_CACHE_SIZE,
  ) {
    this.#cache = new TwoGenerationCache(cacheSize);
  }

  /** Logs and errors show neither the key nor the cached words. */
  toJSON(): string {
    return 'BlindIndex';
  }

  [inspect.custom](): string {
    return 'BlindIndex';
  }

  /** The keyed tokens to index for a message's text. */
  documentTokens(text: string): string[] {
    const tokens = tokenize(text);
    const chars = new Set<string>();
    for (const token of tokens) for (const ch of token) if (CJK_CHAR.test(ch)) chars.add(ch);
    return [...tokens.map((t) => this.hash('t', t)), ...[...chars].map((c) => this.hash('c', c))];
  }

  /** The query as phrases of keyed tokens, as `queryPhrases` gives them for plain ones. */
  queryPhrases(query: string): string[][] {
    return queryPhrases(query).map((phrase) => {
      const only = phrase[0]!;
      if (phrase.length === 1 && only.endsWith('*')) return [this.hash('c', only.slice(0, -1))];
      return phrase.map((t) => this.hash('t', t));
    });
  }

  private hash(domain: 't' | 'c', token: string): string {
    return this.#cache.getOrMake(`${domain}\0${token}`, this.#keyed);
  }

  private keyed(input: string): string {
    const digest = createHmac('sha256', this.key).update(input).digest();
    let out = '';
    for (let i = 0; i < TOKEN_NIBBLES / 2; i++) out += LETTERS[digest[i]! >> 4]! + LETTERS[digest[i]! & 15]!;
    return out;
  }
}
