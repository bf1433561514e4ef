import { SotongError, type ChannelEvent, type Message, type MessageEdit, type ParsedArgs } from '@sotong/protocol';
import type { BusMessage } from '../bus/bus.js';
import { newId } from '../ids.js';
import type { MessageRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { appendEvent, published } from './channels.js';
import { decodeText, encodeText, factsOf } from './content.js';
import { loadChannel, loadMessage, type ServiceDeps } from './context.js';
import { claimFiles, fileView } from './files.js';
import { assertCan, type Actor } from './permissions.js';
import { eventRow, hydrateEvents, hydrateMessages, messageView, ReadPositions } from './views.js';

export class MessageService {
  constructor(private readonly deps: ServiceDeps) {}

  async send(actor: Actor, args: ParsedArgs<'message.send'>): Promise<Message> {
    this.checkText(args.text, args.fileIds.length > 0);
    // Id and time are fixed before the transaction: the content is sealed under them, off the event loop.
    const now = this.deps.now();
    const id = newId('m', now);
    const plain = encodeText(args.text);
    const prepared = await this.deps.atRest.prepareMessage(actor.workspaceId, args.channelId, { id, createdAt: now, text: args.text, ...plain });
    return this.deps.queue.run(async (tx) => {
      const ctx = await loadChannel(tx, args.channelId, actor.userId);
      assertCan(actor, 'channel.post', { kind: 'channel', ...ctx });
      const existing = await tx.messages.byClientMsgId(args.channelId, actor.userId, args.clientMsgId);
      if (existing) return { result: (await hydrateMessages(tx, [existing], await ReadPositions.of(tx, args.channelId)))[0]! };
      const root = args.threadRootId ? await this.threadRoot(tx, args.channelId, args.threadRootId) : null;
      const files = await claimFiles(tx, actor, args.channelId, args.fileIds);

      const seq = await tx.channels.nextSeq(args.channelId, Number(ctx.channel.last_seq));
      const facts = factsOf(args.text);
      const needsMembers = facts.mentionedUserIds.length > 0 || facts.mentionsHere;
      const mentioned = needsMembers ? this.mentionedMembers(facts, await tx.channels.memberIds(args.channelId), actor.userId) : [];
      const row: MessageRow = {
        pk: 0,
        id,
        channel_id: args.channelId,
        seq,
        sender_id: actor.userId,
        client_msg_id: args.clientMsgId,
        thread_root_id: root?.id ?? null,
        content_format: prepared.content_format,
        content: prepared.content,
        created_at: now,
        edited_at: null,
        deleted_at: null,
        pinned_at: null,
        reply_count: 0,
        last_reply_at: null,
        mentions_channel: facts.mentionsChannel ? 1 : 0,
        has_file: files.length > 0 ? 1 : 0,
        has_link: facts.hasLink ? 1 : 0,
      };
      const { pk: _generated, ...insertable } = row;
      row.pk = await tx.messages.insert(insertable);
      await tx.files.attach(args.fileIds, row.id);
      await tx.search.index(row.pk, prepared.tokens);
      if (mentioned.length > 0) await tx.messages.replaceMentions(row.id, args.channelId, seq, mentioned);
      if (root) await tx.messages.addReply(root.id, now);
      else await tx.channels.advanceRead(args.channelId, actor.userId, seq);

      // Everyone but the sender is behind a message that has just been written.
      const unreadCount = Number(ctx.channel.member_count) - 1;
      const event: ChannelEvent = {
        channelId: args.channelId,
        seq,
        actorId: actor.userId,
        at: now,
        type: 'message.posted',
        message: { ...messageView({ ...row, content_format: plain.format, content: plain.content }, [], mentioned, files.map((f) => fileView({ ...f, message_id: row.id }))), unreadCount },
      };
      await tx.events.append(eventRow(event));
      return { result: event.message, publish: published([event]) };
    }, { channelId: args.channelId });
  }

  async edit(actor: Actor, args: ParsedArgs<'message.edit'>): Promise<Message> {
    this.checkText(args.text, false);
    const before = await this.deps.store.read.messages.byId(args.messageId);
    const tokens = before ? await this.deps.atRest.prepare(actor.workspaceId, before.channel_id, args.text) : [];
    return this.deps.queue.run(async (tx) => {
      const ctx = await loadMessage(tx, args.messageId, actor.userId);
      assertCan(actor, 'message.edit', { kind: 'message', ...ctx });
      const old = ctx.message;
      if (old.deleted_at !== null) throw new SotongError('not_found', 'the message was deleted');
      const now = this.deps.now();
      const facts = factsOf(args.text);
      const { format, content } = encodeText(args.text);
      await tx.messages.recordEdit(old.id, old.edited_at ?? old.created_at, old.content_format, old.content);
      await tx.messages.replaceContent(old.id, format, content, now, facts.hasLink, facts.mentionsChannel);
      await tx.search.remove(old.pk);
      await tx.search.index(old.pk, tokens);
      const memberIds = await tx.channels.memberIds(old.channel_id);
      await tx.messages.replaceMentions(old.id, old.channel_id, Number(old.seq), this.mentionedMembers(facts, memberIds, actor.userId));
      const [message] = await hydrateMessages(tx, [(await tx.messages.byId(old.id))!], await ReadPositions.of(tx, old.channel_id));
      const event = await appendEvent(tx, old.channel_id, actor.userId, now, 'message.edited', { message: message! });
      return { result: message!, publish: published([event]) };
    }, { channelId: before?.channel_id });
  }

  async delete(actor: Actor, messageId: string): Promise<void> {
    return this.deps.queue.run(async (tx) => {
      const ctx = await loadMessage(tx, messageId, actor.userId);
      assertCan(actor, 'message.delete', { kind: 'message', ...ctx });
      const { message } = ctx;
      if (message.deleted_at !== null) return { result: undefined };
      await tx.messages.tombstone(message.id, this.deps.now());
      await tx.files.releaseOfMessage(message.id, this.deps.now());
      await tx.search.remove(message.pk);
      if (message.thread_root_id) await tx.messages.removeReply(message.thread_root_id);
      const event = await appendEvent(tx, message.channel_id, actor.userId, this.deps.now(), 'message.deleted', {
        messageId: message.id,
        threadRootId: message.thread_root_id,
      });
      return { result: undefined, publish: published([event]) };
    });
  }

  async toggleReaction(actor: Actor, args: ParsedArgs<'reaction.toggle'>): Promise<{ added: boolean }> {
    return this.deps.queue.run(async (tx) => {
      const ctx = await this.liveMessage(tx, actor, args.messageId, 'message.react');
      const { id, channel_id } = ctx.message;
      const now = this.deps.now();
      const added = !(await tx.messages.hasReaction(id, args.emoji, actor.userId));
      if (added) await tx.messages.addReaction(id, args.emoji, actor.userId, now);
      else await tx.messages.removeReaction(id, args.emoji, actor.userId);
      const body = { messageId: id, emoji: args.emoji, userId: actor.userId };
      const event = await appendEvent(tx, channel_id, actor.userId, now, added ? 'reaction.added' : 'reaction.removed', body);
      return { result: { added }, publish: published([event]) };
    });
  }

  async setPinned(actor: Actor, messageId: string, pinned: boolean): Promise<void> {
    return this.deps.queue.run(async (tx) => {
      const ctx = await this.liveMessage(tx, actor, messageId, 'message.pin');
      if ((ctx.message.pinned_at !== null) === pinned) return { result: undefined };
      const now = this.deps.now();
      await tx.messages.setPinned(messageId, pinned ? now : null);
      const event = await appendEvent(tx, ctx.message.channel_id, actor.userId, now, pinned ? 'message.pinned' : 'message.unpinned', { messageId });
      return { result: undefined, publish: published([event]) };
    });
  }

  async pins(actor: Actor, channelId: string): Promise<Message[]> {
    const store = this.deps.store.read;
    assertCan(actor, 'channel.read', { kind: 'channel', ...(await loadChannel(store, channelId, actor.userId)) });
    return hydrateMessages(store, await store.messages.pinned(channelId));
  }

  async editHistory(actor: Actor, messageId: string): Promise<MessageEdit[]> {
    const store = this.deps.store.read;
    const ctx = await loadMessage(store, messageId, actor.userId);
    assertCan(actor, 'channel.read', { kind: 'message', ...ctx });
    return (await store.messages.edits(messageId)).map((e) => ({ editedAt: Number(e.edited_at), text: decodeText(e.content_format, e.content) }));
  }

  async list(actor: Actor, args: ParsedArgs<'messages.list'>): Promise<{ messages: Message[]; hasMoreBefore: boolean; hasMoreAfter: boolean }> {
    const store = this.deps.store.read;
    const ctx = await loadChannel(store, args.channelId, actor.userId);
    assertCan(actor, 'channel.read', { kind: 'channel', ...ctx });
    let rows: MessageRow[];
    let hasMoreBefore: boolean;
    let hasMoreAfter: boolean;
    if (args.around) {
      const anchor = await store.messages.byId(args.around);
      if (!anchor || anchor.channel_id !== args.channelId) throw new SotongError('not_found', 'no such message in this channel');
      const half = Math.max(1, Math.floor(args.limit / 2));
      const older = await store.messages.page(args.channelId, { beforeSeq: Number(anchor.seq) + 1 }, half + 1);
      const newer = await store.messages.page(args.channelId, { afterSeq: Number(anchor.seq) }, half + 1);
      hasMoreBefore = older.length > half;
      hasMoreAfter = newer.length > half;
      rows = [...older.slice(-half), ...newer.slice(0, half)];
    } else if (args.after !== undefined) {
      const page = await store.messages.page(args.channelId, { afterSeq: args.after, ...(args.before !== undefined ? { beforeSeq: args.before } : {}) }, args.limit + 1);
      hasMoreAfter = page.length > args.limit;
      hasMoreBefore = args.after > 0;
      rows = page.slice(0, args.limit);
    } else {
      const page = await store.messages.page(args.channelId, args.before !== undefined ? { beforeSeq: args.before } : {}, args.limit + 1);
      hasMoreBefore = page.length > args.limit;
      hasMoreAfter = args.before !== undefined && args.before <= Number(ctx.channel.last_seq);
      rows = page.slice(-args.limit);
    }
    const messages = await hydrateMessages(store, rows, await ReadPositions.of(store, args.channelId));
    return { messages, hasMoreBefore, hasMoreAfter };
  }

  async thread(actor: Actor, args: ParsedArgs<'thread.get'>): Promise<{ root: Message; replies: Message[]; hasMore: boolean }> {
    const store = this.deps.store.read;
    const ctx = await loadMessage(store, args.messageId, actor.userId);
    assertCan(actor, 'channel.read', { kind: 'message', ...ctx });
    if (ctx.message.thread_root_id !== null) throw new SotongError('bad_request', 'that message is a reply; ask for its root');
    const page = await store.messages.replies(ctx.message.id, args.after ?? 0, args.limit + 1);
    const reads = await ReadPositions.of(store, ctx.channel.id);
    const [root, ...replies] = await hydrateMessages(store, [ctx.message, ...page.slice(0, args.limit)], reads);
    return { root: root!, replies, hasMore: page.length > args.limit };
  }

  async sync(actor: Actor, args: ParsedArgs<'events.sync'>): Promise<{ events: ChannelEvent[]; hasMore: boolean; lastSeq: number }> {
    const store = this.deps.store.read;
    const ctx = await loadChannel(store, args.channelId, actor.userId);
    assertCan(actor, 'channel.read', { kind: 'channel', ...ctx });
    const rows = await store.events.after(args.channelId, args.after, args.limit + 1);
    const events = await hydrateEvents(store, rows.slice(0, args.limit));
    return { events, hasMore: rows.length > args.limit, lastSeq: Number(ctx.channel.last_seq) };
  }

  /**
   * What a reconnecting client missed: for each channel it is a member of, the events after its
   * cursor, at most `limit` per channel; longer backlogs are listed as truncated (page with sync).
   */
  async backlog(
    actor: Actor,
    cursors: Record<string, number>,
    memberships: Map<string, number>,
    limit: number,
  ): Promise<{ events: ChannelEvent[]; truncated: string[] }> {
    const store = this.deps.store.read;
    const events: ChannelEvent[] = [];
    const truncated: string[] = [];
    for (const [channelId, cursor] of Object.entries(cursors)) {
      if (!memberships.has(channelId)) continue;
      const rows = await store.events.after(channelId, cursor, limit + 1);
      if (rows.length > limit) truncated.push(channelId);
      events.push(...(await hydrateEvents(store, rows.slice(0, limit))));
    }
    return { events, truncated };
  }

  /** Marks the channel read up to `seq`; everyone sees the per-message counts drop, the reader's devices see the badges clear. */
  async markRead(actor: Actor, args: ParsedArgs<'channel.markRead'>): Promise<{ lastReadSeq: number; unreadCount: number; mentionCount: number }> {
    return this.deps.queue.run(async (tx) => {
      const ctx = await loadChannel(tx, args.channelId, actor.userId);
      assertCan(actor, 'channel.read', { kind: 'channel', ...ctx });
      if (!ctx.member) throw new SotongError('forbidden', 'only members have a read position');
      const fromSeq = Number(ctx.member.last_read_seq);
      const target = Math.min(args.seq, Number(ctx.channel.last_seq));
      await tx.channels.advanceRead(args.channelId, actor.userId, target);
      const lastReadSeq = Math.max(fromSeq, target);
      const [view] = await tx.channels.listForMember(actor.userId, args.channelId);
      const result = { lastReadSeq, unreadCount: view?.unread_count ?? 0, mentionCount: view?.mention_count ?? 0 };
      const publish: BusMessage[] = [
        { kind: 'user-signal', userId: actor.userId, signal: { kind: 'unread', channelId: args.channelId, ...result } },
      ];
      if (lastReadSeq > fromSeq) {
        publish.unshift({ kind: 'channel-signal', channelId: args.channelId, signal: { kind: 'read', channelId: args.channelId, userId: actor.userId, fromSeq, seq: lastReadSeq } });
      }
      return { result, publish };
    });
  }

  private checkText(text: string, hasFiles: boolean): void {
    if (text.trim().length === 0 && !hasFiles) throw new SotongError('bad_request', 'a message needs text or files');
    if (text.length > this.deps.limits.maxMessageChars) {
      throw new SotongError('too_large', `a message has at most ${this.deps.limits.maxMessageChars} characters`, { limit: this.deps.limits.maxMessageChars });
    }
  }

  private async threadRoot(tx: Store, channelId: string, rootId: string): Promise<MessageRow> {
    const root = await tx.messages.byId(rootId);
    if (!root || root.channel_id !== channelId) throw new SotongError('not_found', 'no such thread in this channel');
    if (root.thread_root_id !== null) throw new SotongError('bad_request', 'reply to the thread root, not to a reply');
    if (root.deleted_at !== null) throw new SotongError('not_found', 'the thread root was deleted');
    return root;
  }

  private async liveMessage(tx: Store, actor: Actor, messageId: string, action: 'message.react' | 'message.pin') {
    const ctx = await loadMessage(tx, messageId, actor.userId);
    assertCan(actor, action, { kind: 'message', ...ctx });
    if (ctx.message.deleted_at !== null) throw new SotongError('not_found', 'the message was deleted');
    return ctx;
  }

  /** @user mentions of members, and @here: the members online now. The sender never mentions themself. */
  private mentionedMembers(facts: ReturnType<typeof factsOf>, memberIds: string[], senderId: string): string[] {
    const members = new Set(memberIds);
    const ids = new Set(facts.mentionedUserIds.filter((id) => members.has(id)));
    if (facts.mentionsHere) for (const id of memberIds) if (this.deps.presence.isOnline(id)) ids.add(id);
    ids.delete(senderId);
    return [...ids];
  }
}
