import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ChannelEvent, ServerFrame } from '@sotong/protocol';
import { FrameReader, lengthPrefix } from '../../src/transports/length-prefixed.js';
import { CommandError } from './ws-client.js';

/** What every frame transport's test client does: keep every frame, match results to requests. */
export abstract class FrameClient {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | undefined;
  private nextId = 0;
  private readonly waiters = new Set<() => void>();

  abstract sendRaw(data: string | Buffer): void;
  abstract close(): void;

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

  async auth(token: string, cursors?: Record<string, number>): Promise<unknown> {
    const id = `r${++this.nextId}`;
    this.sendRaw(JSON.stringify({ t: 'auth', id, v: 1, token, ...(cursors ? { cursors } : {}) }));
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
    const started = Date.now();
    while (!this.closed) {
      if (Date.now() - started > timeoutMs) throw new Error('connection did not close');
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.closed;
  }
}

/** Raw TCP (or TCP+TLS) with 4-byte length-prefixed frames. */
export class TcpClient extends FrameClient {
  private constructor(readonly socket: Socket) {
    super();
    const reader = new FrameReader(64 * 1024 * 1024);
    socket.on('data', (chunk: Buffer) => {
      for (const c of reader.push(chunk)) {
        if (!('frame' in c)) continue;
        const frame = JSON.parse(c.frame.toString('utf8')) as ServerFrame;
        this.received(frame);
        if (frame.t === 'close') this.ended(frame.code, frame.reason);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => this.ended(1006, 'socket closed'));
  }

  static async open(port: number, ca?: Buffer): Promise<TcpClient> {
    const socket = ca ? tlsConnect({ port, host: '127.0.0.1', ca, servername: 'localhost' }) : netConnect({ port, host: '127.0.0.1' });
    const client = new TcpClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once(ca ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    await client.waitFor((f) => f.t === 'hello');
    return client;
  }

  static async connect(port: number, token: string, ca?: Buffer, cursors?: Record<string, number>): Promise<TcpClient> {
    const client = await TcpClient.open(port, ca);
    await client.auth(token, cursors);
    return client;
  }

  sendRaw(data: string | Buffer): void {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    this.socket.write(Buffer.concat([lengthPrefix(bytes), bytes]));
  }

  close(): void {
    this.socket.end();
  }
}
