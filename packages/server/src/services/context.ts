import { SotongError, type PresenceStatus } from '@sotong/protocol';
import type { Bus } from '../bus/bus.js';
import type { ChannelRow, MemberRow, MessageRow } from '../store/schema.js';
import type { Store, StoreProvider } from '../store/store.js';
import type { CommitQueue } from './commit-queue.js';

/** Presence lives in the realtime layer; the services see it only through this port. */
export interface PresencePort {
  isOnline(userId: string): boolean;
  statusOf(userIds: readonly string[]): Record<string, PresenceStatus>;
  setAway(userId: string, away: boolean): void;
}

export interface ServiceLimits {
  maxMessageChars: number;
  scryptCost: number;
  /** Access tokens are short-lived; a device renews them with its credential. */
  accessTokenTtlSeconds: number;
  /** A device credential lapses after this many days without a renewal. */
  deviceCredentialTtlDays: number;
  /** How far a request proof's own time may be from the server's. */
  deviceProofMaxSkewSeconds: number;
  passwordMinLength: number;
  /** Failed sign-ins within the window that lock an account, or a source address. */
  loginMaxFailures: number;
  loginAddressMaxFailures: number;
  loginWindowMs: number;
  loginLockoutMs: number;
}

export interface ServiceDeps {
  store: StoreProvider;
  queue: CommitQueue;
  bus: Bus;
  presence: PresencePort;
  limits: ServiceLimits;
  now: () => number;
}

export interface ChannelContext {
  channel: ChannelRow;
  member: MemberRow | undefined;
}

export async function loadChannel(store: Store, channelId: string, userId: string): Promise<ChannelContext> {
  const found = await store.channels.withMember(channelId, userId);
  if (!found || found.channel.deleted_at !== null) throw new SotongError('not_found', 'no such channel');
  return found;
}

export async function loadMessage(store: Store, messageId: string, userId: string): Promise<ChannelContext & { message: MessageRow }> {
  const message = await store.messages.byId(messageId);
  if (!message) throw new SotongError('not_found', 'no such message');
  return { ...(await loadChannel(store, message.channel_id, userId)), message };
}
