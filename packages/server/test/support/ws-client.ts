import type { ChannelEvent, ServerFrame } from '@sotong/protocol';
import WebSocket from 'ws';
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

/** A raw protocol client for tests: every frame received is kept, in order. */
export class TestClient {
  readonly frames: ServerFrame[] = [];
  private nextId = 0;
  private readonly waiters = new Set<() => void>();
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as ServerFrame);
      for (const wake of this.waiters) wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const wake of this.waiters) wake();
    });
  }

  static async open(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    // Listen before the socket opens: the server's hello can arrive in the same read as the upgrade.
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await client.waitFor((f) => f.t === 'hello');
    return client;
  }

  /** Opens, authenticates, and returns once the auth result is in. */
  static async connect(url: string, token: string, cursors?: Record<string, number>): Promise<TestClient> {
    const client = await TestClient.open(url);
    await client.auth(token, cursors);
    return client;
  }

  /** The nonce from the server's hello, for the device proof. */
  get challenge(): string {
    const hello = this.frames.find((f) => f.t === 'hello');
    return hello?.t === 'hello' ? (hello.challenge ?? '') : '';
  }

  /** Authenticates; the proof is signed by the token's device when the test helpers issued it (`proof` overrides, null sends none). */
  async auth(token: string, cursors?: Record<string, number>, proof: string | null = deviceOf(token)?.challengeProof(token, this.challenge) ?? null): Promise<unknown> {
    const id = `r${++this.nextId}`;
    this.sendRaw(JSON.stringify({ t: 'auth', id, v: 1, token, ...(proof ? { proof } : {}), ...(cursors ? { cursors } : {}) }));
    return this.result(id);
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
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

  /** Resolves with the first frame (already received or still to come) that matches. */
  waitFor(match: (f: ServerFrame) => boolean, timeoutMs = 5000): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      // Each waiter looks at every frame once, however many frames pile up.
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
      const timer = setTimeout(() => reject(new Error('connection did not close')), timeoutMs);
      this.ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.closed!;
  }

  close(): void {
    this.ws.close();
  }
}
