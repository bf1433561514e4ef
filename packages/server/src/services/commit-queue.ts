import { SotongError } from '@sotong/protocol';
import type { Bus, BusMessage } from '../bus/bus.js';
import type { Store, StoreProvider } from '../store/store.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';

/** What a write produced: its result for the caller and what to publish once it is durable. */
export interface Outcome<T> {
  result: T;
  publish?: BusMessage[];
}

export type WriteOp<T> = (tx: Store) => Promise<Outcome<T>>;

/** What the queue should know of a write before running it. */
export interface WriteHints {
  /** The channel whose seq the write takes, if known up front: batches lock these in order. */
  channelId?: string;
}

interface Pending {
  op: WriteOp<unknown>;
  channelId: string | undefined;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  outcome?: Outcome<unknown>;
  error?: unknown;
}

/**
 * Group commit: writes queue up while a transaction is in flight and the next transaction takes
 * them all (up to a limit). Nothing is published or acknowledged before its commit is durable.
 *
 * A batch first runs as one plain transaction. If any write in it fails (a refused command, say),
 * the transaction is rolled back and the batch runs again with each write in its own savepoint,
 * so the failing write leaves no trace and its neighbours still commit. Savepoints cost a fifth of
 * a message's store time, so only batches that need them pay for them.
 */
export class CommitQueue {
  private queue: Pending[] = [];
  private running = false;

  constructor(
    private readonly store: StoreProvider,
    private readonly bus: Bus,
    private readonly maxBatch: number,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  run<T>(op: WriteOp<T>, hints: WriteHints = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op: op as WriteOp<unknown>, channelId: hints.channelId, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  /**
   * The next batch runs while the previous one's commit is being made durable (see
   * StoreProvider.synced); acknowledgements and publications still wait for it, in commit order.
   */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const stopTimer = this.metrics.storeTransactionSeconds.startTimer();
      try {
        await this.attempt(batch);
      } catch (err) {
        stopTimer();
        this.log.error({ err, batch: batch.length }, 'write transaction failed');
        this.refuse(batch);
        continue;
      }
      this.metrics.commitBatchSize.observe(batch.length);
      this.store.synced().then(
        () => {
          stopTimer();
          this.settle(batch);
        },
        (err: unknown) => {
          stopTimer();
          this.log.fatal({ err, batch: batch.length }, 'the store could not make a commit durable; no further write will be acknowledged');
          this.refuse(batch);
        },
      );
    }
    this.running = false;
  }

  private settle(batch: Pending[]): void {
    for (const item of batch) {
      if (item.outcome) {
        for (const message of item.outcome.publish ?? []) this.bus.publish(message);
        item.resolve(item.outcome.result);
      } else {
        item.reject(item.error);
      }
    }
  }

  private refuse(batch: Pending[]): void {
    const failure = new SotongError('unavailable', 'the store could not commit; retry');
    for (const item of batch) item.reject(failure);
  }

  /** Runs the batch; each item ends with an outcome or an error. Throws only if the store cannot commit. */
  private async attempt(batch: Pending[]): Promise<void> {
    try {
      await this.store.transaction(async (tx) => {
        await this.lockChannels(tx, batch);
        for (const item of batch) item.outcome = await item.op(tx);
      });
      return;
    } catch (err) {
      for (const item of batch) delete item.outcome;
      if (batch.length === 1) {
        batch[0]!.error = err;
        return;
      }
    }
    // The store may run this function more than once (PostgreSQL retries deadlocks): start clean each time.
    await this.store.transaction(async (tx) => {
      await this.lockChannels(tx, batch);
      for (const item of batch) {
        delete item.outcome;
        delete item.error;
        try {
          item.outcome = await tx.withSavepoint(() => item.op(tx));
        } catch (err) {
          item.error = err;
        }
      }
    });
  }

  /** SQLite has one writer; on PostgreSQL, a batch touching several channels locks them in one order. */
  private async lockChannels(tx: Store, batch: Pending[]): Promise<void> {
    if (this.store.dialect !== 'postgres') return;
    const ids = [...new Set(batch.flatMap((item) => (item.channelId ? [item.channelId] : [])))];
    if (ids.length > 1) await tx.channels.lockInOrder(ids.sort());
  }
}
