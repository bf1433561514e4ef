/**
 * Korean-aware tokens for search (see DESIGN.md, "Search that works for Korean").
 * Words for alphabetic scripts; overlapping bigrams for Hangul/CJK runs, so that 회의 is found in
 * 회의는 and 회의록을 with no dictionary. The same function tokenizes text and queries.
 */
const WORDS = /[\p{L}\p{N}\p{M}]+/gu;
const CJK = /[\p{Script=Hangul}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const RUNS = /[\p{Script=Hangul}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+|[^\p{Script=Hangul}\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+/gu;

export function normalize(text: string): string {
  return text.normalize('NFC').toLowerCase();
}

function bigrams(run: string): string[] {
  const chars = Array.from(run);
  if (chars.length < 2) return chars;
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

/** Tokens of one whitespace-free word, in order. */
function wordTokens(word: string): string[] {
  const out: string[] = [];
  for (const run of word.match(RUNS) ?? []) {
    if (CJK.test(run)) out.push(...bigrams(run));
    else out.push(run);
  }
  return out;
}

export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const word of normalize(text).match(WORDS) ?? []) out.push(...wordTokens(word));
  return out;
}

/**
 * A query as phrases that must all match: each whitespace-separated term (or "quoted phrase")
 * becomes one phrase of consecutive tokens. A lone Hangul/CJK syllable becomes a prefix token
 * (marked with a trailing '*'), since it only occurs inside bigrams in the index.
 */
export function queryPhrases(query: string): string[][] {
  const phrases: string[][] = [];
  for (const match of normalize(query).matchAll(/"([^"]*)"|(\S+)/gu)) {
    const tokens = tokenize(match[1] ?? match[2] ?? '');
    if (tokens.length === 0) continue;
    const only = tokens[0]!;
    if (tokens.length === 1 && Array.from(only).length === 1 && CJK.test(only)) phrases.push([`${only}*`]);
    else phrases.push(tokens);
  }
  return phrases;
}

/** The terms to highlight in a result: the query's words as typed, normalised. */
export function highlightTerms(query: string): string[] {
  const terms: string[] = [];
  for (const match of normalize(query).matchAll(/"([^"]*)"|(\S+)/gu)) {
    for (const word of (match[1] ?? match[2] ?? '').match(WORDS) ?? []) terms.push(word);
  }
  return terms;
}
