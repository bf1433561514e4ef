import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { ChannelFile, ChannelView, Message } from '@sotong/protocol';
import { upload } from './support/files.js';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';

type FilePage = { files: ChannelFile[]; nextBefore: string | null };

/** A channel's file list: what was sent there, newest first, to whoever may read the channel. */
describe('channel file list', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let channel: ChannelView;

  before(async () => {
    server = await spawnServer();
    alice = await person(server, 'Alice');
    bob = await person(server, 'Bob');
    carol = await person(server, 'Carol');
    channel = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'files', kind: 'private', memberIds: [bob.user.id] }, alice.token);
  });
  after(() => server?.stop());

  const send = (token: string, fileIds: string[]) =>
    server.request<Message>('POST', `/api/v1/channels/${channel.id}/messages`, { clientMsgId: randomBytes(6).toString('hex'), text: '', fileIds }, token);
  const list = (token: string, query = '') => server.request<FilePage>('GET', `/api/v1/channels/${channel.id}/files${query}`, undefined, token);

  it('lists sent files newest first with their uploader and message, in pages', async () => {
    const names = ['one.txt', 'two.txt', 'three.txt'];
    const sent: Message[] = [];
    for (const name of names) {
      const file = await upload(server, name === 'two.txt' ? bob.token : alice.token, channel.id, name, Buffer.from(name));
      sent.push(await send(name === 'two.txt' ? bob.token : alice.token, [file.id]));
    }
    await upload(server, alice.token, channel.id, 'unsent.txt', Buffer.from('draft'));

    const first = await list(bob.token, '?limit=2');
    assert.deepEqual(first.files.map((f) => f.name), ['three.txt', 'two.txt']);
    assert.equal(first.files[1]!.uploaderId, bob.user.id);
    assert.equal(first.files[0]!.messageId, sent[2]!.id);
    assert.equal(first.files[0]!.size, 'three.txt'.length);
    assert.ok(first.nextBefore);
    const second = await list(bob.token, `?limit=2&before=${first.nextBefore}`);
    assert.deepEqual(second.files.map((f) => f.name), ['one.txt']);
    assert.equal(second.nextBefore, null);

    await server.request('DELETE', `/api/v1/messages/${sent[0]!.id}`, undefined, alice.token);
    assert.deepEqual((await list(alice.token)).files.map((f) => f.name), ['three.txt', 'two.txt'], 'a deleted message takes its files off the list');
  });

  it('refuses people who may not read the channel, as the messages do', async () => {
    await assert.rejects(list(carol.token), (err: { status: number; body: { code: string } }) => err.status === 404 && err.body.code === 'not_found');
    await assert.rejects(server.request('GET', `/api/v1/channels/${channel.id}/messages`, undefined, carol.token), { status: 404 });
    assert.equal((await fetch(`${server.httpUrl}/api/v1/channels/${channel.id}/files`)).status, 401);
  });
});
