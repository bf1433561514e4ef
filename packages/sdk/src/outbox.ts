import { SotongError, type CommandArgs, type Message } from '@sotong/protocol';
import { isRetryable, toSotongError } from './errors.js';
import { randomId } from './ids.js';

/** queued: waiting for its turn, the connection or a retry · sending: on the wire · failed: refused, not retried. */
export type OutboxStatus = 'queued' | 'sending' | 'failed';

export interface OutboxEntry {
  readonly clientMsgId: string;
  readonly channelId: string;
  readonly text: string;
  readonly threadRootId?: string;
  readonly status: OutboxStatus;
  readonly attempts: number;
  /** Why the last attempt failed: the refusal when `failed`, the passing trouble when `queued`. */
  readonly error?: SotongError;
  readonly createdAt: number;
}

export type SendArgs = CommandArgs<'message.send'>;

export interface OutboxOptions {
  /** Sends one message; the server returns the original message for a repeated clientMsgId. */
  send(args: SendArgs): Promise<Message>;
  changed(entries: readonly OutboxEntry[]): void;
  retryDelayMs(attempt: number): number;
  newClientMsgId?: () => string;
}

interface Waiter {
  resolve(message: Message): void;
  reject(error: SotongError): void;
}

/**
 * Messages written but not yet acknowledged. Each channel sends one at a time, in the order
 * written, so the server numbers them in that order. Passing failures (connection lost,
 * timeout, rate limit) retry with the same clientMsgId; refusals mark the message failed.
 */
export class Outbox {
  private entries: readonly OutboxEntry[] = [];
  private readonly waiters = new Map<string, Waiter>();
  private readonly retryTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private online = false;

  constructor(private readonly options: OutboxOptions) {}

  list(): readonly OutboxEntry[] {
    return this.entries;
  }

  enqueue(channelId: string, text: string, threadRootId?: string): Promise<Message> {
    const entry: OutboxEntry = {
      clientMsgId: (this.options.newClientMsgId ?? randomId)(),
      channelId,
      text,
      ...(threadRootId === undefined ? {} : { threadRootId }),
      status: 'queued',
      attempts: 0,
      createdAt: Date.now(),
    };
    const settled = this.wait(entry.clientMsgId);
    this.setEntries([...this.entries, entry]);
    this.pump(channelId);
    return settled;
  }

  /** While offline nothing is sent; going online sends what waits, without waiting for retry timers. */
  setOnline(online: boolean): void {
    this.online = online;
    if (!online) return;
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    for (const channelId of new Set(this.entries.map((entry) => entry.channelId))) this.pump(channelId);
  }

  /** The message was seen on the channel, perhaps before its send result arrived. */
  acknowledge(message: Message): void {
    const entry = this.find(message.clientMsgId);
    if (entry && entry.channelId === message.channelId) this.succeed(entry, message);
  }

  /** Queues a failed message again; resolves like the original send. */
  retry(clientMsgId: string): Promise<Message> {
    const entry = this.find(clientMsgId);
    if (entry?.status !== 'failed') return Promise.reject(new SotongError('not_found', `no failed message ${clientMsgId}`));
    const settled = this.wait(clientMsgId);
    this.replace(entry, { status: 'queued', attempts: 0, error: undefined });
    this.pump(entry.channelId);
    return settled;
  }

  /** Drops a failed message. */
  discard(clientMsgId: string): boolean {
    const entry = this.find(clientMsgId);
    if (entry?.status !== 'failed') return false;
    this.setEntries(this.entries.filter((other) => other !== entry));
    return true;
  }

  /** Marks everything not yet acknowledged failed, e.g. when the client closes. */
  failAll(error: SotongError): void {
    this.setOnline(false);
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    for (const entry of this.entries) if (entry.status !== 'failed') this.fail(entry, error);
  }

  private pump(channelId: string): void {
    if (!this.online || this.retryTimers.has(channelId)) return;
    const head = this.entries.find((entry) => entry.channelId === channelId && entry.status !== 'failed');
    if (head?.status !== 'queued') return;
    const sending = this.replace(head, { status: 'sending', attempts: head.attempts + 1 });
    const { clientMsgId, text, threadRootId } = sending;
    this.options.send({ channelId, clientMsgId, text, ...(threadRootId === undefined ? {} : { threadRootId }) }).then(
      (message) => {
        const entry = this.find(clientMsgId);
        if (entry) this.succeed(entry, message);
      },
      (error: unknown) => {
        const entry = this.find(clientMsgId);
        if (entry?.status === 'sending') this.sendFailed(entry, toSotongError(error));
      },
    );
  }

  private sendFailed(entry: OutboxEntry, error: SotongError): void {
    if (!isRetryable(error)) {
      this.fail(entry, error);
      this.pump(entry.channelId);
      return;
    }
    this.replace(entry, { status: 'queued', error });
    // Offline, the next setOnline(true) sends it.
    if (!this.online) return;
    const timer = setTimeout(() => {
      this.retryTimers.delete(entry.channelId);
      this.pump(entry.channelId);
    }, this.options.retryDelayMs(entry.attempts - 1));
    this.retryTimers.set(entry.channelId, timer);
  }

  private succeed(entry: OutboxEntry, message: Message): void {
    this.setEntries(this.entries.filter((other) => other !== entry));
    this.settle(entry.clientMsgId, (waiter) => waiter.resolve(message));
    this.pump(entry.channelId);
  }

  private fail(entry: OutboxEntry, error: SotongError): void {
    this.replace(entry, { status: 'failed', error });
    this.settle(entry.clientMsgId, (waiter) => waiter.reject(error));
  }

  private wait(clientMsgId: string): Promise<Message> {
    return new Promise((resolve, reject) => this.waiters.set(clientMsgId, { resolve, reject }));
  }

  private settle(clientMsgId: string, complete: (waiter: Waiter) => void): void {
    const waiter = this.waiters.get(clientMsgId);
    this.waiters.delete(clientMsgId);
    if (waiter) complete(waiter);
  }

  private find(clientMsgId: string): OutboxEntry | undefined {
    return this.entries.find((entry) => entry.clientMsgId === clientMsgId);
  }

  /** Entries are immutable so that a UI can compare them by reference. */
  private replace(entry: OutboxEntry, changes: Partial<OutboxEntry>): OutboxEntry {
    const next: OutboxEntry = { ...entry, ...changes };
    if (next.error === undefined) delete (next as { error?: SotongError }).error;
    this.setEntries(this.entries.map((other) => (other === entry ? next : other)));
    return next;
  }

  private setEntries(entries: readonly OutboxEntry[]): void {
    this.entries = entries;
    this.options.changed(entries);
  }
}
