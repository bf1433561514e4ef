import type { ChannelEvent, PresenceStatus, Signal } from '@sotong/protocol';

/** What travels between the services and every node's hub. */
export type BusMessage =
  | { kind: 'event'; event: ChannelEvent }
  | { kind: 'channel-signal'; channelId: string; signal: Signal }
  | { kind: 'user-signal'; userId: string; signal: Signal }
  /** The user's sessions must end now (deactivated, role or password changed). */
  | { kind: 'user-revoked'; userId: string; reason: string }
  /** One device of the user was revoked: its sessions must end now, on every node. */
  | { kind: 'device-revoked'; userId: string; deviceId: string }
  /** A user joined or left a channel: every node with that user's sessions (un)subscribes them. */
  | { kind: 'membership'; userId: string; channelId: string; joined: boolean; seq: number }
  /** One node's view of a user: the status of that user's sessions on that node. */
  | { kind: 'presence'; userId: string; status: PresenceStatus; node: string }
  /** A node began watching the user: the nodes that have the user's sessions announce them again. */
  | { kind: 'presence-query'; userId: string; node: string };

/** What a node may want to hear about. */
export type Topic = { kind: 'channel' | 'user' | 'presence'; id: string };

export function topicOf(message: BusMessage): Topic {
  switch (message.kind) {
    case 'event':
      return { kind: 'channel', id: message.event.channelId };
    case 'channel-signal':
      return { kind: 'channel', id: message.channelId };
    case 'user-signal':
    case 'user-revoked':
    case 'device-revoked':
    case 'membership':
      return { kind: 'user', id: message.userId };
    case 'presence':
    case 'presence-query':
      return { kind: 'presence', id: message.userId };
  }
}

export interface Bus {
  publish(message: BusMessage): void;
  subscribe(handler: (message: BusMessage) => void): () => void;
  /** This node has sessions that need the topic (counted: watch twice, unwatch twice). */
  watch(topic: Topic): void;
  unwatch(topic: Topic): void;
  /** Resolves once every watch so far is in effect, so nothing published after it is missed. */
  settled(): Promise<void>;
  close(): Promise<void>;
}
