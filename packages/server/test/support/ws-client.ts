import type { ServerFrame } from '@sotong/protocol';
import WebSocket from 'ws';
import { FrameClient } from './frame-client.js';

/** The WebSocket transport's test client (with a CA to trust for WSS): every frame received is kept, in order. */
export class TestClient extends FrameClient {
  protected readonly proofTransport = 'websocket';

  private constructor(readonly ws: WebSocket) {
    super();
    ws.on('message', (data) => this.received(JSON.parse(data.toString()) as ServerFrame));
    ws.on('close', (code, reason) => this.ended(code, reason.toString()));
  }

  static async open(url: string, ca?: Buffer): Promise<TestClient> {
    const ws = new WebSocket(url, ca ? { ca } : {});
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
  static async connect(url: string, token: string, cursors?: Record<string, number>, ca?: Buffer): Promise<TestClient> {
    const client = await TestClient.open(url, ca);
    await client.auth(token, cursors);
    return client;
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  close(): void {
    this.ws.close();
  }

  drop(): void {
    this.ws.terminate();
  }
}
