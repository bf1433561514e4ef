import type { ChannelEvent, ServerFrame } from '@sotong/protocol';
import { deviceOf } from '../../src/testing.js';

export class CommandError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(`${code}: ${message}`);
  }
}

/** What every frame transport's test client does: keep every frame, match results to requests. */
export abstract class FrameClient {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  /** The token last signed in with. */
  protected token: string | undefined;
  private nextId = 0;
  private readonly waiters = new Set<() => void>();

  /** The transport a challenge proof names (`websocket`, `tcp`, `long-poll`). */
  protected abstract readonly proofTransport: string;
  abstract sendRaw(data: string | Buffer): void;
  abstract close(): void;
  /** Goes away without a goodbye, as a lost network would. */
  abstract drop(): void;

  protected received(frame: ServerFrame): void {
    this.frames.push(frame);
    this.wake();
  }

  protected ended(code: number, reason: string): void {
    this.closed ??= { code, reason };
    this.wake();
  }

  private wake(): void {
    for (const wake of this.waiters) wake();
  }

  /** The nonce from the server's hello, for the device proof. */
  get challenge(): string {
    const hello = this.frames.find((f) => f.t === 'hello');
    return hello?.t === 'hello' ? (hello.challenge ?? '') : '';
  }

  /**
   * Authenticates; the hello's challenge is signed by the token's device when the test helpers
   * issued it. `proof` overrides that; null sends the token alone.
   */
  async auth(token: string, cursors?: Record<string, number>, proof?: string | null): Promise<unknown> {
    const id = `r${++this.nextId}`;
    this.token = token;
    const signed = proof === undefined ? deviceOf(token)?.challengeProof(token, this.challenge, this.proofTransport) : proof;
    this.sendRaw(JSON.stringify({ t: 'auth', id, v: 1, token, ...(signed ? { proof: signed } : {}), ...(cursors ? { cursors } : {}) }));
    return this.result(id);
  }

  async call<T = any>(cmd: string, args: unknown = {}): Promise<T> {
    const id = `r${++this.nextId}`;
    this.sendRaw(JSON.stringify({ t: 'cmd', id, cmd, args }));
    return this.result(id) as Promise<T>;
  }

  async result(id: string): Promise<unknown> {
    const frame = await this.waitFor((f) => (f.t === 'result' || f.t === 'error') && f.id === id);
    if (frame.t === 'error') throw new CommandError(frame.code, frame.message, frame.details);
    return (frame as { data: unknown }).data;
  }

  events(channelId?: string): ChannelEvent[] {
    return this.frames.flatMap((f) => (f.t === 'event' && (!channelId || f.e.channelId === channelId) ? [f.e] : []));
  }

  waitFor(match: (f: ServerFrame) => boolean, timeoutMs = 5000): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const check = () => {
        let found: ServerFrame | undefined;
        for (; seen < this.frames.length && !found; seen++) if (match(this.frames[seen]!)) found = this.frames[seen];
        if (found) {
          done();
          resolve(found);
        } else if (this.closed) {
          done();
          reject(new Error(`connection closed (${this.closed.code} ${this.closed.reason}) while waiting`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for a frame; last frames: ${JSON.stringify(this.frames.slice(-3))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  async waitForClose(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closed) return this.closed;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error('connection did not close'));
      }, timeoutMs);
      const check = () => {
        if (!this.closed) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
    return this.closed!;
  }
}
