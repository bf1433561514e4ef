import type { Logger } from '../logger.js';

export interface SweepTask {
  name: string;
  /** What it removed, for the log; nothing logged when every count is 0. */
  run(): Promise<Record<string, number>>;
}

/**
 * Runs cleanup tasks one after another every `intervalMs`, off the request path. A run that is
 * still going when the next is due is not doubled; a failing task is logged and the others run.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly tasks: readonly SweepTask[],
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  /** One pass now (or the pass already under way). */
  runOnce(): Promise<void> {
    this.current ??= this.pass().finally(() => (this.current = undefined));
    return this.current;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.current;
  }

  private async pass(): Promise<void> {
    for (const task of this.tasks) {
      try {
        const removed = await task.run();
        if (Object.values(removed).some((n) => n > 0)) this.log.info({ task: task.name, ...removed }, 'swept');
      } catch (err) {
        this.log.warn({ err, task: task.name }, 'sweep task failed');
      }
    }
  }
}
