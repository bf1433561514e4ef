/**
 * Deterministic Korean and English chat text for seeding the search bench.
 *
 * Words are drawn from one ranked vocabulary with a Zipf-like distribution (P(rank r) ∝ 1/r):
 * a head of real work-chat words (Korean stems take particles, as Korean text does), then a long
 * tail of made-up words, so a query can be common (회의, the), medium or rare. The same seed gives
 * the same text, so the query mix finds the same words in every seeded directory.
 */

/** Korean work-chat stems, most frequent first (회의 and 공유 near the top, as in real chat). */
const KOREAN = [
  '회의', '공유', '확인', '자료', '오늘', '내일', '일정', '보고서', '프로젝트', '검토', '수정', '배포', '고객', '요청', '문서',
  '팀장님', '점심', '미팅', '서버', '테스트', '결과', '업데이트', '진행', '계획', '예산', '발표', '디자인', '개발', '기획', '마감',
  '이슈', '버그', '로그', '장애', '대응', '공지', '휴가', '출장', '계약', '견적', '승인', '결재', '메일', '전화', '답변',
  '질문', '의견', '피드백', '정리', '회의록', '안건', '목표', '성과', '분기', '매출', '지표', '분석', '데이터', '보안', '권한',
  '계정', '비밀번호', '설정', '화면', '기능', '요구사항', '일정표', '담당자', '참석', '연기', '취소', '변경', '완료', '시작', '종료',
  '준비', '교육', '세미나', '워크숍', '채용', '면접', '인사', '총무', '재무', '법무', '마케팅', '영업', '구매', '물류', '품질',
  '고객사', '협력사', '본사', '지사', '사무실', '회의실', '예약', '택배', '간식', '커피', '퇴근', '출근', '야근', '주말', '월요일',
];
const PARTICLES = ['은', '는', '이', '가', '을', '를', '에', '에서', '도', '로', '와', '과', '의', '만'];

/** English work-chat words, most frequent first. */
const ENGLISH = [
  'the', 'to', 'and', 'we', 'i', 'is', 'for', 'on', 'it', 'this', 'can', 'you', 'meeting', 'please', 'check',
  'deploy', 'release', 'notes', 'review', 'today', 'tomorrow', 'update', 'team', 'build', 'test', 'fix', 'bug', 'customer', 'report', 'share',
  'doc', 'draft', 'plan', 'budget', 'design', 'server', 'client', 'api', 'issue', 'ticket', 'sprint', 'demo', 'slides', 'deadline', 'launch',
  'staging', 'production', 'rollback', 'incident', 'alert', 'latency', 'database', 'migration', 'schema', 'backup', 'security', 'audit', 'access', 'login', 'password',
  'approve', 'merge', 'branch', 'commit', 'pipeline', 'dashboard', 'metrics', 'quarter', 'revenue', 'invoice', 'contract', 'vendor', 'legal', 'hiring', 'interview',
  'lunch', 'coffee', 'office', 'travel', 'holiday', 'weekend', 'monday', 'friday', 'agenda', 'minutes', 'feedback', 'question', 'answer', 'thanks', 'sorry',
];

const HANGUL_SYLLABLES = '가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허고노도로모보소오조초코토포호구누두루무부수우주추쿠투푸후';
const LATIN = 'bcdfghjklmnprstvz';
const VOWELS = 'aeiou';

/** A small fast PRNG (mulberry32): the same seed, the same text. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Tail words: three Hangul syllables or a three-syllable Latin word, made from the rank alone. */
function tailWord(rank: number, korean: boolean): string {
  let n = rank * 2654435761 >>> 0;
  const pick = (alphabet: string) => {
    const c = alphabet[n % alphabet.length]!;
    n = Math.floor(n / alphabet.length) + rank;
    return c;
  };
  if (korean) return pick(HANGUL_SYLLABLES) + pick(HANGUL_SYLLABLES) + pick(HANGUL_SYLLABLES);
  let w = '';
  for (let i = 0; i < 3; i++) w += pick(LATIN) + pick(VOWELS);
  return w;
}

export interface Vocabulary {
  korean: string[];
  english: string[];
}

/** `size` words per language: the real head, then made-up tail words (distinct from the head). */
export function vocabulary(size: number): Vocabulary {
  const build = (head: string[], korean: boolean): string[] => {
    const words = [...head];
    const seen = new Set(words);
    for (let rank = words.length; words.length < size; rank++) {
      const w = tailWord(rank, korean);
      if (!seen.has(w)) {
        seen.add(w);
        words.push(w);
      }
    }
    return words;
  };
  return { korean: build(KOREAN, true), english: build(ENGLISH, false) };
}

/** Samples ranks 0..n-1 with P(r) ∝ 1/(r+1)^s, by binary search over the cumulative weights. */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) cumulative[r] = total += 1 / (r + 1) ** s;
  return () => {
    const x = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export const VOCABULARY_SIZE = 20_000;
/** Phrases written as such in some messages, so phrase queries have real hits. */
export const PHRASES = { korean: '회의 자료', english: 'release notes' } as const;

/**
 * Chat messages: 60 % Korean (stems with a particle half of the time), 40 % English, 3 to 16
 * words, now and then a fixed phrase.
 */
export function chatTextGenerator(seed: number): () => string {
  const random = prng(seed);
  const vocab = vocabulary(VOCABULARY_SIZE);
  const rank = zipfSampler(VOCABULARY_SIZE, 1.0, random);
  return () => {
    const korean = random() < 0.6;
    const words: string[] = [];
    const length = 3 + Math.floor(random() * 14);
    for (let i = 0; i < length; i++) {
      if (korean) {
        const stem = vocab.korean[rank()]!;
        words.push(random() < 0.5 ? stem + PARTICLES[Math.floor(random() * PARTICLES.length)]! : stem);
      } else {
        words.push(vocab.english[rank()]!);
      }
    }
    if (random() < 0.02) words.splice(Math.floor(random() * words.length), 0, korean ? PHRASES.korean : PHRASES.english);
    const text = words.join(' ');
    return korean ? `${text}.` : `${text[0]!.toUpperCase()}${text.slice(1)}.`;
  };
}
