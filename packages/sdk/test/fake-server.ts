import { WebSocketServer, type WebSocket } from 'ws';
import type { ClientFrame, ServerFrame } from '@sotong/protocol';
import { deferred, type Deferred } from './fixtures.js';

const WAIT_MS = 5_000;

/** Rejects if the client does not do what the script expects in time, instead of hanging the test. */
function expect<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the client sent no ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One client socket as the scripted server sees it. */
export class FakeSocket {
  private readonly inbox: ClientFrame[] = [];
  private waiting: Deferred<ClientFrame> | undefined;
  readonly closed = deferred<void>();

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ClientFrame;
      if (this.waiting) {
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting.resolve(frame);
      } else {
        this.inbox.push(frame);
      }
    });
    ws.on('close', () => this.closed.resolve());
  }

  send(frame: ServerFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** The next frame from the client, pings skipped unless asked for. */
  async next(options: { pings?: boolean } = {}): Promise<ClientFrame> {
    for (;;) {
      const frame = this.inbox.shift() ?? (await expect((this.waiting = deferred<ClientFrame>()).promise, 'frame'));
      if (frame.t !== 'ping' || options.pings) return frame;
    }
  }

  async nextCommand(cmd?: string): Promise<Extract<ClientFrame, { t: 'cmd' }>> {
    const frame = await this.next();
    if (frame.t !== 'cmd' || (cmd !== undefined && frame.cmd !== cmd)) {
      throw new Error(`expected command ${cmd ?? ''}, got ${JSON.stringify(frame)}`);
    }
    return frame;
  }

  /** Sends hello, reads the auth frame and answers it. */
  async handshake(result: unknown, maxFrameBytes = 1 << 20): Promise<Extract<ClientFrame, { t: 'auth' }>> {
    this.send({ t: 'hello', v: 1, maxFrameBytes });
    const auth = await this.next();
    if (auth.t !== 'auth') throw new Error(`expected auth, got ${JSON.stringify(auth)}`);
    this.send({ t: 'result', id: auth.id, data: result });
    return auth;
  }

  close(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }
}

/** A WebSocket server the test scripts frame by frame. */
export class FakeServer {
  private readonly sockets: FakeSocket[] = [];
  private waiting: Deferred<FakeSocket> | undefined;
  connections = 0;

  private constructor(private readonly wss: WebSocketServer) {
    wss.on('connection', (ws) => {
      this.connections += 1;
      const socket = new FakeSocket(ws);
      if (this.waiting) {
        const waiting = this.waiting;
        this.waiting = undefined;
        waiting.resolve(socket);
      } else {
        this.sockets.push(socket);
      }
    });
  }

  static async start(): Promise<FakeServer> {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new FakeServer(wss);
  }

  get url(): string {
    const address = this.wss.address();
    if (address === null || typeof address === 'string') throw new Error('the server is not listening on a port');
    return `ws://127.0.0.1:${address.port}/ws`;
  }

  accept(): Promise<FakeSocket> {
    const socket = this.sockets.shift();
    return socket ? Promise.resolve(socket) : expect((this.waiting = deferred<FakeSocket>()).promise, 'connection');
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
