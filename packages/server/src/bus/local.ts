import type { Bus, BusMessage } from './bus.js';

/** The single-process bus: delivery is a synchronous call, in publish order. */
export class LocalBus implements Bus {
  private readonly handlers = new Set<(message: BusMessage) => void>();

  publish(message: BusMessage): void {
    for (const handler of this.handlers) handler(message);
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
