import { connect, type NatsConnection, type Subscription } from 'nats';
import type { Logger } from '../logger.js';
import { topicOf, type Bus, type BusMessage, type Topic } from './bus.js';

const SHORT = { channel: 'ch', user: 'user', presence: 'presence' } as const;

/**
 * The cluster bus over NATS: one subject per channel, per user and per user's presence, and each
 * node subscribes only to the subjects its sessions need. A node hears its own publishes back on
 * the same subjects, so local and remote sessions take one path. Nothing depends on the bus for
 * correctness: a lost message is a gap the clients fill from the store.
 */
export class NatsBus implements Bus {
  private readonly handlers = new Set<(message: BusMessage) => void>();
  private readonly subscriptions = new Map<string, { sub: Subscription; count: number }>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  static async connect(url: string, prefix: string, log: Logger): Promise<NatsBus> {
    const nc = await connect({ servers: url, name: 'sotong', maxReconnectAttempts: -1 });
    void (async () => {
      for await (const status of nc.status()) log.warn({ bus: status.type }, 'bus connection status');
    })();
    return new NatsBus(nc, prefix, log);
  }

  publish(message: BusMessage): void {
    this.nc.publish(this.subject(topicOf(message)), Buffer.from(JSON.stringify(message)));
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  watch(topic: Topic): void {
    const subject = this.subject(topic);
    const existing = this.subscriptions.get(subject);
    if (existing) {
      existing.count++;
      return;
    }
    const sub = this.nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return this.log.warn({ err, subject }, 'bus subscription failed');
        const message = JSON.parse(Buffer.from(msg.data).toString('utf8')) as BusMessage;
        for (const handler of this.handlers) handler(message);
      },
    });
    this.subscriptions.set(subject, { sub, count: 1 });
  }

  unwatch(topic: Topic): void {
    const subject = this.subject(topic);
    const existing = this.subscriptions.get(subject);
    if (!existing) return;
    if (--existing.count > 0) return;
    existing.sub.unsubscribe();
    this.subscriptions.delete(subject);
  }

  /** A flush is a round trip: the server has every subscription sent before it. */
  settled(): Promise<void> {
    return this.nc.flush();
  }

  async close(): Promise<void> {
    this.handlers.clear();
    await this.nc.drain();
  }

  private subject(topic: Topic): string {
    return `${this.prefix}.${SHORT[topic.kind]}.${topic.id}`;
  }
}
