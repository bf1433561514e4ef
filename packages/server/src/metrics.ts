import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics: rates come from the counters (commands/s, events/s) at query time. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sotong_' });
  return {
    registry,
    connections: new Gauge({ name: 'sotong_connections', help: 'Open client connections', labelNames: ['transport'], registers: [registry] }),
    commands: new Counter({
      name: 'sotong_commands_total',
      help: 'Commands handled, by name and outcome',
      labelNames: ['command', 'outcome'],
      registers: [registry],
    }),
    events: new Counter({ name: 'sotong_events_total', help: 'Channel events published', labelNames: ['type'], registers: [registry] }),
    deliveries: new Counter({ name: 'sotong_deliveries_total', help: 'Frames written to client sessions', registers: [registry] }),
    sendToDeliverSeconds: new Histogram({
      name: 'sotong_send_to_deliver_seconds',
      help: 'From a message.send command arriving to its event being written to every local subscriber',
      buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2],
      registers: [registry],
    }),
    storeTransactionSeconds: new Histogram({
      name: 'sotong_store_transaction_seconds',
      help: 'Write transaction duration (one group commit)',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    commitBatchSize: new Histogram({
      name: 'sotong_commit_batch_size',
      help: 'Writes per group commit',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers: [registry],
    }),
    outboundQueueBytes: new Gauge({
      name: 'sotong_outbound_queue_bytes',
      help: 'Bytes waiting in session outbound queues (sum over sessions)',
      registers: [registry],
    }),
    slowConsumerDisconnects: new Counter({
      name: 'sotong_slow_consumer_disconnects_total',
      help: 'Sessions closed because their outbound queue overflowed',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
