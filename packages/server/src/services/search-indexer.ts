import type { Logger } from '../logger.js';
import type { ServiceDeps } from './context.js';

/** Entries moved per write transaction: large enough that FTS5 writes few segments, small enough not to hold the writer long. */
const BATCH = 5000;

/**
 * Moves messages from the search index's pending list into the index (see SearchIndex), on a
 * timer and before every search, so a search finds what was acknowledged before it was asked.
 * Pending entries are stored with their messages, so a restart loses none: the first tick
 * indexes what the last run left.
 */
export class SearchIndexer {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    private readonly deps: Pick<ServiceDeps, 'store' | 'queue'>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    if (!(await this.deps.store.read.search.hasPending())) return;
    for (;;) {
      const moved = await this.deps.queue.run(async (tx) => ({ result: await tx.search.flushPending(BATCH) }));
      if (moved < BATCH) return;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.flush();
    } catch (err) {
      this.log.error({ err }, 'search indexing failed; pending messages stay queued for the next attempt');
    } finally {
      this.ticking = false;
    }
  }
}
