import type { ChannelEvent, CommandResult } from '@sotong/protocol';
import type { Cursors } from './storage.js';

export type SyncPage = CommandResult<'events.sync'>;

export interface SequencerOptions {
  /** One page of the channel's events after `after`, in seq order (the `events.sync` command). */
  fetchAfter(channelId: string, after: number): Promise<SyncPage>;
  /** Receives each event of a channel exactly once, in seq order. */
  apply(event: ChannelEvent): void;
  error(error: unknown, channelId: string): void;
}

interface ChannelLog {
  /** Seq of the last event applied. */
  applied: number;
  /** Highest seq known to exist; above `applied` means there is a gap to fill. */
  known: number;
  /** Events that arrived ahead of their turn. */
  held: Map<number, ChannelEvent>;
  filling: boolean;
}

/**
 * Applies each tracked channel's events strictly in seq order, exactly once. Duplicates are
 * dropped; an event ahead of its turn is held while the missing ones are fetched.
 * Events of channels it does not track are dropped: the server announces every subscription
 * (in the auth result or a `subscribed` frame) before it sends the channel's events.
 */
export class Sequencer {
  private readonly logs = new Map<string, ChannelLog>();
  private paused = false;

  constructor(private readonly options: SequencerOptions) {}

  cursor(channelId: string): number | undefined {
    return this.logs.get(channelId)?.applied;
  }

  cursors(): Cursors {
    const cursors: Cursors = {};
    for (const [channelId, log] of this.logs) cursors[channelId] = log.applied;
    return cursors;
  }

  channelIds(): string[] {
    return [...this.logs.keys()];
  }

  /** Tracks the channel from `seq` on: events up to `seq` count as seen. */
  start(channelId: string, seq: number): void {
    this.logs.set(channelId, emptyLog(seq));
  }

  /** The channel has events up to `seq`: fetch the ones not applied yet. */
  observeHead(channelId: string, seq: number): void {
    const log = this.logs.get(channelId);
    if (!log) return this.start(channelId, seq);
    log.known = Math.max(log.known, seq);
    this.advance(channelId, log);
  }

  push(event: ChannelEvent): void {
    const log = this.logs.get(event.channelId);
    if (!log || !this.hold(log, event)) return;
    this.advance(event.channelId, log);
  }

  forget(channelId: string): void {
    this.logs.delete(channelId);
  }

  /** Holds back every event until `resume`, e.g. while the state they apply to is loading. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    for (const [channelId, log] of this.logs) this.advance(channelId, log);
  }

  /** The connection was lost: drop held events (the server resends after the cursors) and abandon fills. */
  reset(): void {
    for (const [channelId, log] of this.logs) this.logs.set(channelId, emptyLog(log.applied));
  }

  /** Returns whether the event is new. */
  private hold(log: ChannelLog, event: ChannelEvent): boolean {
    if (event.seq <= log.applied || log.held.has(event.seq)) return false;
    log.held.set(event.seq, event);
    log.known = Math.max(log.known, event.seq);
    return true;
  }

  private advance(channelId: string, log: ChannelLog): void {
    if (this.paused) return;
    this.drain(channelId, log);
    if (this.logs.get(channelId) === log && log.known > log.applied && !log.filling) void this.fill(channelId, log);
  }

  private drain(channelId: string, log: ChannelLog): void {
    for (let next = log.held.get(log.applied + 1); next; next = log.held.get(log.applied + 1)) {
      log.held.delete(next.seq);
      log.applied = next.seq;
      try {
        this.options.apply(next);
      } catch (error) {
        this.options.error(error, channelId);
      }
      if (this.logs.get(channelId) !== log) return; // forgotten or reset by the code it called
    }
  }

  /**
   * Fetches pages after the last applied seq until the gap is closed. Stops on error; the next
   * event of the channel, or the resume after a reconnect, tries again.
   */
  private async fill(channelId: string, log: ChannelLog): Promise<void> {
    log.filling = true;
    const current = () => this.logs.get(channelId) === log && !this.paused;
    try {
      while (current() && log.known > log.applied) {
        const before = log.applied;
        const page = await this.options.fetchAfter(channelId, before);
        if (!current()) return;
        log.known = Math.max(log.known, page.lastSeq);
        for (const event of page.events) if (event.channelId === channelId) this.hold(log, event);
        this.drain(channelId, log);
        if (page.hasMore) log.known = Math.max(log.known, log.applied + 1);
        if (log.applied === before) {
          throw new Error(`events.sync after ${before} brought nothing to apply, though seq ${log.known} exists`);
        }
      }
    } catch (error) {
      if (current()) this.options.error(error, channelId);
    } finally {
      log.filling = false;
    }
  }
}

function emptyLog(applied: number): ChannelLog {
  return { applied, known: applied, held: new Map(), filling: false };
}
