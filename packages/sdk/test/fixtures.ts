import type { AuthResult, ChannelEvent, ChannelView, Message, User } from '@sotong/protocol';

export const alice: User = { id: 'u-alice', workspaceId: 'w1', email: 'alice@example.com', displayName: 'Alice', role: 'member', deactivated: false };
export const bob: User = { id: 'u-bob', workspaceId: 'w1', email: 'bob@example.com', displayName: 'Bob', role: 'member', deactivated: false };

export function message(channelId: string, seq: number, overrides: Partial<Message> = {}): Message {
  return {
    id: `m-${channelId}-${seq}`,
    channelId,
    seq,
    senderId: bob.id,
    clientMsgId: `c-${channelId}-${seq}`,
    threadRootId: null,
    format: 'text/v1',
    text: `message ${seq}`,
    createdAt: seq,
    editedAt: null,
    deleted: false,
    pinned: false,
    replyCount: 0,
    lastReplyAt: null,
    mentions: [],
    mentionsChannel: false,
    reactions: [],
    ...overrides,
  };
}

export function posted(channelId: string, seq: number, overrides: Partial<Message> = {}): ChannelEvent {
  const m = message(channelId, seq, overrides);
  return { type: 'message.posted', channelId, seq, actorId: m.senderId, at: seq, message: m };
}

export function channelView(id: string, overrides: Partial<ChannelView> = {}): ChannelView {
  return {
    id,
    workspaceId: 'w1',
    kind: 'public',
    name: id,
    topic: '',
    purpose: '',
    createdBy: bob.id,
    createdAt: 0,
    archived: false,
    lastSeq: 0,
    memberCount: 2,
    lastReadSeq: 0,
    unreadCount: 0,
    mentionCount: 0,
    ...overrides,
  };
}

export function authResult(channels: Record<string, number>, overrides: Partial<AuthResult> = {}): AuthResult {
  return { user: alice, sessionId: 's1', channels, heartbeatMs: 30_000, truncated: [], ...overrides };
}

/** Polls until `check` holds; fails after `ms`. For waiting, not for measuring. */
export async function waitFor(check: () => boolean, what = 'condition', ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
