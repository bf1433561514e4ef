import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChannelView, NotificationPrefs } from '@sotong/protocol';
import { person, spawnServer, type Person, type SpawnedServer } from './support/fixtures.js';
import { CommandError } from './support/frame-client.js';

/** Notification preferences are the person's own, kept on the server for every device, and survive a restart. */
describe('notification preferences', () => {
  let server: SpawnedServer;
  let alice: Person;
  let bob: Person;
  let general: ChannelView;
  let secret: ChannelView;

  before(async () => {
    server = await spawnServer();
    alice = await person(server, 'Alice');
    bob = await person(server, 'Bob');
    general = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'general', memberIds: [bob.user.id] }, alice.token);
    secret = await server.request<ChannelView>('POST', '/api/v1/channels', { name: 'secret', kind: 'private' }, alice.token);
  });
  after(() => server?.stop());

  it('start at mentions and DMs, nothing muted; a choice and mutes persist over REST and the socket', async () => {
    assert.deepEqual(await server.request<NotificationPrefs>('GET', '/api/v1/me/notifications', undefined, bob.token), { desktop: 'mentions', mutedChannelIds: [] });
    const set = await server.request<NotificationPrefs>('PUT', '/api/v1/me/notifications', { desktop: 'none' }, bob.token);
    assert.equal(set.desktop, 'none');
    const muted = await server.request<NotificationPrefs>('PUT', `/api/v1/channels/${general.id}/mute`, { muted: true }, bob.token);
    assert.deepEqual(muted.mutedChannelIds, [general.id]);
    // Muting twice is harmless.
    await server.request('PUT', `/api/v1/channels/${general.id}/mute`, { muted: true }, bob.token);

    await server.restart();
    const socket = await bob.connect();
    const otherDevice = await bob.connect();
    assert.deepEqual(await socket.call<NotificationPrefs>('prefs.notifications.get', {}), { desktop: 'none', mutedChannelIds: [general.id] });
    assert.deepEqual((await socket.call<NotificationPrefs>('channel.mute', { channelId: general.id, muted: false })).mutedChannelIds, []);
    assert.equal((await socket.call<NotificationPrefs>('prefs.notifications.set', { desktop: 'all' })).desktop, 'all');
    // The person's other sessions hear of each change.
    await otherDevice.waitFor((f) => f.t === 'signal' && f.s.kind === 'prefs' && f.s.prefs.desktop === 'all');
    socket.close();
    otherDevice.close();
    // Another person's preferences are their own.
    assert.deepEqual(await server.request<NotificationPrefs>('GET', '/api/v1/me/notifications', undefined, alice.token), { desktop: 'mentions', mutedChannelIds: [] });
  });

  it('refuses a level it does not know, and a channel one cannot read', async () => {
    await assert.rejects(server.request('PUT', '/api/v1/me/notifications', { desktop: 'loud' }, bob.token), { status: 400 });
    await assert.rejects(server.request('PUT', `/api/v1/channels/${secret.id}/mute`, { muted: true }, bob.token), { status: 404 });
    const socket = await bob.connect();
    await assert.rejects(socket.call('channel.mute', { channelId: 'ch_nothing', muted: true }), (err: CommandError) => err.code === 'not_found');
    socket.close();
    assert.deepEqual((await server.request<NotificationPrefs>('GET', '/api/v1/me/notifications', undefined, bob.token)).mutedChannelIds, []);
  });
});
