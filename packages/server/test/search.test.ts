import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, SearchHit } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import type { TestClient } from './support/ws-client.js';

describe('search that works for Korean', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  let a: TestClient;
  let general: ChannelView;
  let random: ChannelView;

  const texts = (hits: SearchHit[]) => hits.map((h) => h.message.text).sort();
  const search = async (query: string, extra: object = {}) => (await a.call<{ hits: SearchHit[] }>('search', { query, ...extra })).hits;

  before(async () => {
    server = await spawnServer();
    [alice, bob] = await Promise.all([person(server, 'Alice'), person(server, 'Bob')]);
    a = await alice.connect();
    general = await a.call('channel.create', { name: 'general', memberIds: [bob.user.id] });
    random = await a.call('channel.create', { name: 'random', memberIds: [bob.user.id] });
    const b = await bob.connect();
    const post = (client: TestClient, channel: ChannelView, id: string, text: string) =>
      client.call('message.send', { channelId: channel.id, clientMsgId: id, text });
    await post(a, general, 'k1', '내일 회의는 10시입니다');
    await post(a, general, 'k2', '회의록을 공유해 주세요');
    await post(b, general, 'k3', '자료를 공유해 드릴게요 https://docs.example.com/a');
    await post(b, random, 'k4', '점심 메뉴 추천 받습니다');
    await post(a, random, 'k5', 'The quarterly Meeting moved to Friday');
    await post(b, random, 'k6', 'PDF로 보낸 회의 자료 확인 부탁해요');
    b.close();
  });
  after(async () => {
    a?.close();
    await server?.stop();
  });

  it('회의 finds 회의는, 회의록을 and 회의 with particles attached', async () => {
    assert.deepEqual(texts(await search('회의')), ['PDF로 보낸 회의 자료 확인 부탁해요', '내일 회의는 10시입니다', '회의록을 공유해 주세요']);
  });

  it('공유 finds 공유해', async () => {
    assert.deepEqual(texts(await search('공유')), ['자료를 공유해 드릴게요 https://docs.example.com/a', '회의록을 공유해 주세요']);
  });

  it('matches a multi-syllable word as a phrase, not as scattered syllables', async () => {
    assert.deepEqual(texts(await search('회의록')), ['회의록을 공유해 주세요']);
    assert.deepEqual(await search('록회의'), []);
  });

  it('English is case-insensitive, and mixed text works', async () => {
    assert.deepEqual(texts(await search('meeting')), ['The quarterly Meeting moved to Friday']);
    assert.deepEqual(texts(await search('pdf 자료')), ['PDF로 보낸 회의 자료 확인 부탁해요']);
  });

  it('filters by channel, sender, date and links', async () => {
    assert.deepEqual(texts(await search('회의 in:random')), ['PDF로 보낸 회의 자료 확인 부탁해요']);
    assert.deepEqual(texts(await search('공유', { channelId: general.id, fromUserId: bob.user.id })), [
      '자료를 공유해 드릴게요 https://docs.example.com/a',
    ]);
    assert.deepEqual(texts(await search(`공유 from:${alice.user.email}`)), ['회의록을 공유해 주세요']);
    assert.deepEqual(texts(await search('공유 has:link')), ['자료를 공유해 드릴게요 https://docs.example.com/a']);
    assert.deepEqual(await search('회의 before:2000-01-01'), []);
    assert.equal((await search('회의 after:2000-01-01')).length, 3);
    await assert.rejects(a.call('search', { query: '회의 before:someday' }), { code: 'bad_request' });
  });

  it('returns newest first, with highlighted snippets, and pages', async () => {
    const hits = await search('회의');
    assert.equal(hits[0]!.message.text, 'PDF로 보낸 회의 자료 확인 부탁해요');
    const hit = hits.find((h) => h.message.text.startsWith('내일'))!;
    assert.deepEqual(hit.highlights.map(([s, e]) => hit.snippet.slice(s, e)), ['회의']);
    assert.equal(hit.channelName, 'general');
    const page1 = await a.call<{ hits: SearchHit[]; nextCursor: string }>('search', { query: '회의', limit: 2 });
    assert.equal(page1.hits.length, 2);
    const page2 = await a.call<{ hits: SearchHit[]; nextCursor: string | null }>('search', { query: '회의', limit: 2, cursor: page1.nextCursor });
    assert.deepEqual(page2.hits.map((h) => h.message.text), ['내일 회의는 10시입니다']);
    assert.equal(page2.nextCursor, null);
  });

  it('follows edits', async () => {
    const msg = await a.call<{ id: string }>('message.send', { channelId: general.id, clientMsgId: 'e1', text: '오타가 있는 문장' });
    await a.call('message.edit', { messageId: msg.id, text: '고친 문장입니다' });
    assert.deepEqual(await search('오타'), []);
    assert.deepEqual(texts(await search('고친')), ['고친 문장입니다']);
  });
});
