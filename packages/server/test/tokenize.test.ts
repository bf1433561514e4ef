import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { queryPhrases, tokenize } from '../src/search/tokenize.js';
import { parseModifiers, snippetOf } from '../src/services/search.js';

describe('Korean-aware tokenizer', () => {
  it('splits Hangul runs into overlapping bigrams and keeps Latin words whole', () => {
    assert.deepEqual(tokenize('회의록을 PDF로 공유해'), ['회의', '의록', '록을', 'pdf', '로', '공유', '유해']);
  });

  it('normalises decomposed Hangul (NFD) and case', () => {
    assert.deepEqual(tokenize('회의'.normalize('NFD')), ['회의']);
    assert.deepEqual(tokenize('Meeting NOTES'), ['meeting', 'notes']);
  });

  it('turns a query into phrases, a lone syllable into a prefix', () => {
    assert.deepEqual(queryPhrases('회의록 "weekly sync" 회'), [['회의', '의록'], ['weekly', 'sync'], ['회*']]);
  });

  it('reads search modifiers out of the query', () => {
    assert.deepEqual(parseModifiers('회의 in:#general from:@kim@corp.kr after:2026-01-01 has:link'), {
      text: '회의',
      inChannel: 'general',
      from: 'kim@corp.kr',
      after: '2026-01-01',
      has: 'link',
    });
  });

  it('marks every match inside the snippet', () => {
    const { snippet, highlights } = snippetOf('내일 회의는 10시, 회의록을 공유해 주세요', ['회의']);
    assert.deepEqual(highlights.map(([s, e]) => snippet.slice(s, e)), ['회의', '회의']);
  });
});
