import {
  SotongError,
  type Channel,
  type ChannelEvent,
  type ChannelMember,
  type ChannelView,
  type ParsedArgs,
} from '@sotong/protocol';
import type { BusMessage } from '../bus/bus.js';
import { newId } from '../ids.js';
import type { ChannelRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { loadChannel, type ServiceDeps } from './context.js';
import { assertCan, can, type Actor } from './permissions.js';
import { channelView, eventRow, memberChannelView } from './views.js';

type EventBody<T extends ChannelEvent['type']> = Omit<Extract<ChannelEvent, { type: T }>, 'channelId' | 'seq' | 'actorId' | 'at' | 'type'>;

/** Appends one event to a channel's log inside the caller's transaction: takes the next seq, writes, returns it. */
export async function appendEvent<T extends ChannelEvent['type']>(
  tx: Store,
  channelId: string,
  actorId: string,
  at: number,
  type: T,
  body: EventBody<T>,
): Promise<Extract<ChannelEvent, { type: T }>> {
  const seq = await tx.channels.nextSeq(channelId);
  const event = { channelId, seq, actorId, at, type, ...body } as unknown as Extract<ChannelEvent, { type: T }>;
  await tx.events.append(eventRow(event));
  return event;
}

/** Events to publish after commit; a join goes out before its event and a leave after it, so the member sees both. */
export function published(events: ChannelEvent[]): BusMessage[] {
  return events.flatMap((event): BusMessage[] => {
    const message: BusMessage = { kind: 'event', event };
    if (event.type === 'member.joined') {
      return [{ kind: 'membership', userId: event.userId, channelId: event.channelId, joined: true, seq: event.seq }, message];
    }
    if (event.type === 'member.left') {
      return [message, { kind: 'membership', userId: event.userId, channelId: event.channelId, joined: false, seq: event.seq }];
    }
    return [message];
  });
}

export class ChannelService {
  constructor(private readonly deps: ServiceDeps) {}

  async list(actor: Actor): Promise<ChannelView[]> {
    const rows = await this.deps.store.read.channels.listForMember(actor.userId);
    return Promise.all(rows.map(async (r) => memberChannelView(r, await this.conversationMembers(this.deps.store.read, r))));
  }

  async browse(actor: Actor): Promise<Channel[]> {
    assertCan(actor, 'workspace.read', { kind: 'workspace', workspaceId: actor.workspaceId });
    if (actor.role === 'guest') return [];
    return (await this.deps.store.read.channels.listPublic(actor.workspaceId)).map(channelView);
  }

  async get(actor: Actor, channelId: string): Promise<ChannelView> {
    return this.viewFor(this.deps.store.read, actor, channelId);
  }

  async members(actor: Actor, channelId: string): Promise<ChannelMember[]> {
    const store = this.deps.store.read;
    assertCan(actor, 'channel.read', { kind: 'channel', ...(await loadChannel(store, channelId, actor.userId)) });
    return (await store.channels.members(channelId)).map((m) => ({
      userId: m.user_id,
      role: m.role as ChannelMember['role'],
      joinedAt: Number(m.joined_at),
      lastReadSeq: Number(m.last_read_seq),
    }));
  }

  async create(actor: Actor, args: ParsedArgs<'channel.create'>): Promise<ChannelView> {
    const workspaceId = args.workspaceId ?? actor.workspaceId;
    assertCan(actor, 'channel.create', { kind: 'workspace', workspaceId });
    return this.deps.queue.run(async (tx) => {
      if (await tx.channels.byName(workspaceId, args.name)) throw new SotongError('conflict', `a channel named ${args.name} exists`);
      const others = await this.workspaceUsers(tx, workspaceId, args.memberIds.filter((id) => id !== actor.userId));
      const now = this.deps.now();
      const row: ChannelRow = {
        id: newId('c', now),
        workspace_id: workspaceId,
        kind: args.kind,
        name: args.name,
        topic: args.topic,
        purpose: args.purpose,
        created_by: actor.userId,
        created_at: now,
        archived_at: null,
        deleted_at: null,
        last_seq: 0,
        member_count: 0,
        dm_key: null,
      };
      const events = await this.createWithMembers(tx, actor, row, [actor.userId, ...others], now);
      return { result: await this.viewFor(tx, actor, row.id), publish: published(events) };
    });
  }

  /** One 1:1 DM per pair and one group DM per set of people: opening it again returns the same one. */
  async openDm(actor: Actor, args: ParsedArgs<'dm.open'>): Promise<ChannelView> {
    const ids = [...new Set([actor.userId, ...args.userIds])].sort();
    const dmKey = ids.join(':');
    const existing = await this.deps.store.read.channels.byDmKey(dmKey);
    if (existing) return this.viewFor(this.deps.store.read, actor, existing.id);
    return this.deps.queue.run(async (tx) => {
      const again = await tx.channels.byDmKey(dmKey);
      if (again) return { result: await this.viewFor(tx, actor, again.id) };
      await this.workspaceUsers(tx, actor.workspaceId, ids);
      const now = this.deps.now();
      const row: ChannelRow = {
        id: newId('d', now),
        workspace_id: actor.workspaceId,
        kind: ids.length <= 2 ? 'dm' : 'group_dm',
        name: dmKey,
        topic: '',
        purpose: '',
        created_by: actor.userId,
        created_at: now,
        archived_at: null,
        deleted_at: null,
        last_seq: 0,
        member_count: 0,
        dm_key: dmKey,
      };
      const events = await this.createWithMembers(tx, actor, row, ids, now);
      return { result: await this.viewFor(tx, actor, row.id), publish: published(events) };
    });
  }

  async update(actor: Actor, args: ParsedArgs<'channel.update'>): Promise<Channel> {
    return this.deps.queue.run(async (tx) => {
      const ctx = await loadChannel(tx, args.channelId, actor.userId);
      assertCan(actor, 'channel.update', { kind: 'channel', ...ctx });
      const changes: { name?: string; topic?: string; purpose?: string } = {};
      if (args.name !== undefined && args.name !== ctx.channel.name) {
        if (await tx.channels.byName(ctx.channel.workspace_id, args.name)) throw new SotongError('conflict', `a channel named ${args.name} exists`);
        changes.name = args.name;
      }
      if (args.topic !== undefined) changes.topic = args.topic;
      if (args.purpose !== undefined) changes.purpose = args.purpose;
      if (Object.keys(changes).length === 0) throw new SotongError('bad_request', 'nothing to update');
      await tx.channels.update(args.channelId, changes);
      const event = await appendEvent(tx, args.channelId, actor.userId, this.deps.now(), 'channel.updated', { changes });
      return { result: channelView((await tx.channels.byId(args.channelId))!), publish: published([event]) };
    });
  }

  async archive(actor: Actor, channelId: string): Promise<void> {
    return this.deps.queue.run(async (tx) => {
      const ctx = await loadChannel(tx, channelId, actor.userId);
      assertCan(actor, 'channel.archive', { kind: 'channel', ...ctx });
      const now = this.deps.now();
      const event = await appendEvent(tx, channelId, actor.userId, now, 'channel.archived', {});
      await tx.channels.update(channelId, { archived_at: now });
      return { result: undefined, publish: published([event]) };
    });
  }

  /**
   * Deletes a channel for everyone: its messages are tombstoned (content, search index, reactions
   * gone), its files released for the sweeper, every member leaves, and the name is free again.
   * The `channel.deleted` event reaches the members before their subscriptions end.
   */
  async delete(actor: Actor, channelId: string): Promise<void> {
    return this.deps.queue.run(async (tx) => {
      const ctx = await loadChannel(tx, channelId, actor.userId);
      assertCan(actor, 'channel.delete', { kind: 'channel', ...ctx });
      const now = this.deps.now();
      const event = await appendEvent(tx, channelId, actor.userId, now, 'channel.deleted', {});
      for (const key of await tx.messages.liveKeysOfChannel(channelId)) await tx.search.remove(key);
      await tx.messages.tombstoneChannel(channelId, now);
      await tx.files.releaseOfChannel(channelId, now);
      const memberIds = await tx.channels.memberIds(channelId);
      for (const userId of memberIds) await tx.channels.removeMember(channelId, userId);
      await tx.channels.update(channelId, { deleted_at: now, name: channelId, topic: '', purpose: '' });
      await tx.security.audit({
        at: now,
        workspace_id: ctx.channel.workspace_id,
        actor_id: actor.userId,
        action: 'channel.deleted',
        target: channelId,
        address: null,
        details: JSON.stringify({ name: ctx.channel.name, kind: ctx.channel.kind, members: memberIds.length }),
      });
      const leaves: BusMessage[] = memberIds.map((userId) => ({ kind: 'membership', userId, channelId, joined: false, seq: event.seq }));
      return { result: undefined, publish: [{ kind: 'event', event }, ...leaves] };
    });
  }

  async join(actor: Actor, channelId: string): Promise<ChannelView> {
    return this.deps.queue.run(async (tx) => {
      const ctx = await loadChannel(tx, channelId, actor.userId);
      if (ctx.member) return { result: await this.viewFor(tx, actor, channelId) };
      assertCan(actor, 'channel.join', { kind: 'channel', ...ctx });
      const event = await this.addMember(tx, channelId, actor.userId, actor.userId, 'member', this.deps.now());
      return { result: await this.viewFor(tx, actor, channelId), publish: published([event]) };
    });
  }

  async leave(actor: Actor, channelId: string): Promise<void> {
    return this.removeMember(actor, channelId, actor.userId, 'channel.leave');
  }

  async kick(actor: Actor, channelId: string, userId: string): Promise<void> {
    return this.removeMember(actor, channelId, userId, 'channel.kick');
  }

  async invite(actor: Actor, channelId: string, userIds: string[]): Promise<void> {
    return this.deps.queue.run(async (tx) => {
      const ctx = await loadChannel(tx, channelId, actor.userId);
      assertCan(actor, 'channel.invite', { kind: 'channel', ...ctx });
      const users = await this.workspaceUsers(tx, ctx.channel.workspace_id, userIds);
      const now = this.deps.now();
      const events: ChannelEvent[] = [];
      for (const userId of users) {
        if (await tx.channels.member(channelId, userId)) continue;
        events.push(await this.addMember(tx, channelId, userId, actor.userId, 'member', now));
      }
      return { result: undefined, publish: published(events) };
    });
  }

  private async removeMember(actor: Actor, channelId: string, userId: string, action: 'channel.leave' | 'channel.kick'): Promise<void> {
    return this.deps.queue.run(async (tx) => {
      const ctx = await loadChannel(tx, channelId, actor.userId);
      assertCan(actor, action, { kind: 'channel', ...ctx });
      if (!(await tx.channels.member(channelId, userId))) throw new SotongError('not_found', 'not a member of this channel');
      const event = await appendEvent(tx, channelId, actor.userId, this.deps.now(), 'member.left', { userId });
      await tx.channels.removeMember(channelId, userId);
      return { result: undefined, publish: published([event]) };
    });
  }

  private async createWithMembers(tx: Store, actor: Actor, row: ChannelRow, memberIds: string[], now: number): Promise<ChannelEvent[]> {
    await tx.channels.insert(row);
    const events: ChannelEvent[] = [await appendEvent(tx, row.id, actor.userId, now, 'channel.created', { channel: channelView(row) })];
    for (const userId of memberIds) {
      const role = userId === actor.userId && row.kind !== 'dm' && row.kind !== 'group_dm' ? 'owner' : 'member';
      events.push(await this.addMember(tx, row.id, userId, actor.userId, role, now));
    }
    return events;
  }

  /** A new member has read everything before their join: old messages do not count as unread for them. */
  private async addMember(tx: Store, channelId: string, userId: string, actorId: string, role: string, now: number): Promise<ChannelEvent> {
    const event = await appendEvent(tx, channelId, actorId, now, 'member.joined', { userId });
    await tx.channels.addMember({ channel_id: channelId, user_id: userId, role, joined_at: now, last_read_seq: event.seq });
    return event;
  }

  /** Checks that every id is an active user of the workspace. */
  private async workspaceUsers(tx: Store, workspaceId: string, userIds: string[]): Promise<string[]> {
    const unique = [...new Set(userIds)];
    for (const userId of unique) {
      const [role, user] = await Promise.all([tx.users.workspaceRole(workspaceId, userId), tx.users.byId(userId)]);
      if (!role || !user || user.deactivated_at !== null) throw new SotongError('not_found', `no such user: ${userId}`);
    }
    return unique;
  }

  private async viewFor(store: Store, actor: Actor, channelId: string): Promise<ChannelView> {
    const [row] = await store.channels.listForMember(actor.userId, channelId);
    if (row) return memberChannelView(row, await this.conversationMembers(store, row));
    const ctx = await loadChannel(store, channelId, actor.userId);
    assertCan(actor, 'channel.read', { kind: 'channel', ...ctx });
    return { ...channelView(ctx.channel), lastReadSeq: 0, unreadCount: 0, mentionCount: 0 };
  }

  private async conversationMembers(store: Store, row: ChannelRow): Promise<string[] | undefined> {
    return row.kind === 'dm' || row.kind === 'group_dm' ? store.channels.memberIds(row.id) : undefined;
  }

  /** Channel id → newest seq, for every channel the actor belongs to (what a new session subscribes to). */
  async memberships(actor: Actor): Promise<Map<string, number>> {
    return this.deps.store.read.channels.seqsOfMember(actor.userId);
  }

  /** Channels whose content the actor may read: memberships, and public channels unless a guest. */
  async readableChannelIds(actor: Actor): Promise<string[]> {
    const store = this.deps.store.read;
    const ids = new Set((await store.channels.seqsOfMember(actor.userId)).keys());
    for (const channel of await store.channels.listPublic(actor.workspaceId)) {
      if (can(actor, 'channel.read', { kind: 'channel', channel, member: undefined })) ids.add(channel.id);
    }
    return [...ids];
  }
}
