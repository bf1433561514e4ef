import WebSocket from 'ws';
import type { ClientFrame, ServerFrame } from '@sotong/protocol';
import type { WebSocketConstructor, WebSocketLike } from '../src/connection.js';

/**
 * A `ws` socket factory a test can steer: see every frame, drop inbound ones, kill the socket
 * the way a network failure would (no close handshake).
 */
export class SocketControl {
  readonly sent: ClientFrame[] = [];
  /** Return true to keep an inbound frame from the client. */
  dropInbound: ((frame: ServerFrame) => boolean) | undefined;
  private current: WebSocket | undefined;
  readonly WebSocket: WebSocketConstructor;

  constructor() {
    const control = this;
    this.WebSocket = class implements WebSocketLike {
      onopen: ((event: unknown) => void) | null = null;
      onmessage: ((event: { data: unknown }) => void) | null = null;
      onclose: ((event: unknown) => void) | null = null;
      onerror: ((event: unknown) => void) | null = null;
      private readonly ws: WebSocket;

      constructor(url: string) {
        this.ws = control.current = new WebSocket(url);
        this.ws.onopen = (event) => this.onopen?.(event);
        this.ws.onclose = (event) => this.onclose?.(event);
        this.ws.onerror = (event) => this.onerror?.(event);
        this.ws.onmessage = (event) => {
          if (control.dropInbound?.(JSON.parse(String(event.data)) as ServerFrame)) return;
          this.onmessage?.(event);
        };
      }

      get readyState(): number {
        return this.ws.readyState;
      }

      send(data: string): void {
        control.sent.push(JSON.parse(data) as ClientFrame);
        this.ws.send(data);
      }

      close(code?: number, reason?: string): void {
        this.ws.close(code, reason);
      }
    };
  }

  /** Cuts the connection abruptly, as a lost network would. */
  kill(): void {
    this.current?.terminate();
  }

  commands(cmd: string): Extract<ClientFrame, { t: 'cmd' }>[] {
    return this.sent.filter((frame): frame is Extract<ClientFrame, { t: 'cmd' }> => frame.t === 'cmd' && frame.cmd === cmd);
  }
}
