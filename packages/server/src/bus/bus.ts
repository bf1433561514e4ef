import type { ChannelEvent, PresenceStatus, Signal } from '@sotong/protocol';

/** What travels between the services and every node's hub. */
export type BusMessage =
  | { kind: 'event'; event: ChannelEvent }
  | { kind: 'channel-signal'; channelId: string; signal: Signal }
  | { kind: 'user-signal'; userId: string; signal: Signal }
  /** A user joined or left a channel: every node with that user's sessions (un)subscribes them. */
  | { kind: 'membership'; userId: string; channelId: string; joined: boolean; seq: number }
  | { kind: 'presence'; userId: string; status: PresenceStatus };

/** What a node may want to hear about. */
export type Topic = { kind: 'channel' | 'user' | 'presence'; id: string };

export function topicOf(message: BusMessage): Topic {
  switch (message.kind) {
    case 'event':
      return { kind: 'channel', id: message.event.channelId };
    case 'channel-signal':
      return { kind: 'channel', id: message.channelId };
    case 'user-signal':
    case 'membership':
      return { kind: 'user', id: message.userId };
    case 'presence':
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
