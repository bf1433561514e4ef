import type { ChannelEvent, PresenceStatus, Signal } from '@sotong/protocol';

/** What travels between the services and every node's hub. */
export type BusMessage =
  | { kind: 'event'; event: ChannelEvent }
  | { kind: 'channel-signal'; channelId: string; signal: Signal }
  | { kind: 'user-signal'; userId: string; signal: Signal }
  | { kind: 'presence'; userId: string; status: PresenceStatus };

export interface Bus {
  publish(message: BusMessage): void;
  subscribe(handler: (message: BusMessage) => void): () => void;
  close(): Promise<void>;
}
