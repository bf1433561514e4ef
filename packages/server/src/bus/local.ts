import type { Bus, BusMessage } from './bus.js';

/** The single-process bus: every message reaches this node's hub by a synchronous call, in publish order. */
export class LocalBus implements Bus {
  private readonly handlers = new Set<(message: BusMessage) => void>();

  publish(message: BusMessage): void {
    for (const handler of this.handlers) handler(message);
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  watch(): void {}
  unwatch(): void {}

  async settled(): Promise<void> {}

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
