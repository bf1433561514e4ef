import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { BlindIndex } from '../src/search/blind-index.js';

/** What FTS5 and tsquery phrase matching do: every phrase occurs as consecutive tokens. */
function matches(doc: string[], phrases: string[][]): boolean {
  return phrases.every((phrase) => doc.some((_, i) => phrase.every((t, j) => doc[i + j] === t)));
}

describe('blind search index', () => {
  const index = new BlindIndex(randomBytes(32));
  const find = (text: string, query: string) => matches(index.documentTokens(text), index.queryPhrases(query));

  it('holds no word and no syllable of the text, only keyed tokens', () => {
    const tokens = index.documentTokens('Quarterly budget 회의록을 공유합니다');
    const joined = tokens.join(' ');
    for (const word of ['quarterly', 'budget', '회의', '공유', '회']) assert.ok(!joined.includes(word));
    assert.ok(tokens.every((t) => /^[a-p]{20}$/.test(t)));
  });

  it('keeps Korean recall: 회의 finds 회의는 and 회의록을, not 의회', () => {
    assert.ok(find('내일 회의는 10시입니다', '회의'));
    assert.ok(find('회의록을 공유해 주세요', '회의'));
    assert.ok(find('회의록을 공유해 주세요', '회의록'));
    assert.ok(!find('국회 의원', '회의'), 'the bigram 회의 is not in 국회 의원');
    assert.ok(!find('의회 소식', '회의'));
  });

  it('matches phrases and words the way the plain index did', () => {
    assert.ok(find('The weekly sync moved to Friday', '"weekly sync"'));
    assert.ok(!find('sync weekly', '"weekly sync"'));
    assert.ok(find('Budget REVIEW', 'budget review'));
    assert.ok(!find('budget', 'budget review'), 'every term must match');
    assert.ok(find('회의 자료', '회'), 'a lone syllable still finds the words that hold it');
    assert.ok(!find('meeting notes', '회'));
  });

  it('differs per workspace key: the same word is another token under another key', () => {
    const other = new BlindIndex(randomBytes(32));
    assert.notDeepEqual(other.documentTokens('budget'), index.documentTokens('budget'));
    assert.deepEqual(index.documentTokens('budget'), index.documentTokens('BUDGET'), 'and the same under the same key (the leakage we document)');
  });

  it('caches keyed tokens within a bound, with the same tokens as without, and shows no word when logged', () => {
    const key = randomBytes(32);
    const small = new BlindIndex(key, 4);
    const texts = ['budget review friday', 'budget 회의록 friday', 'alpha beta gamma delta epsilon', 'budget review friday'];
    for (const text of texts) assert.deepEqual(small.documentTokens(text), new BlindIndex(key, 0).documentTokens(text), text);
    assert.deepEqual(small.queryPhrases('"budget review" 회'), new BlindIndex(key, 0).queryPhrases('"budget review" 회'));
    const shown = `${JSON.stringify({ index: small })} ${inspect(small, { showHidden: true, depth: 5 })}`;
    for (const word of ['budget', 'friday', 'epsilon', '회의']) assert.ok(!shown.includes(word), `"${word}" shows in ${shown}`);
  });
});
