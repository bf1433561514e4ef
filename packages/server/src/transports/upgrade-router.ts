import type { IncomingMessage, Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** One `upgrade` listener for the HTTP(S) server: `/ws` and `/mqtt` each get their own handler, anything else 404. */
export class UpgradeRouter {
  private readonly routes = new Map<string, UpgradeHandler>();
  private readonly listener: UpgradeHandler = (req, socket, head) => {
    const handler = this.routes.get((req.url ?? '').split('?')[0]!);
    if (handler) handler(req, socket, head);
    else refuseUpgrade(socket, 404, 'Not Found');
  };

  constructor(private readonly server: Server | HttpsServer) {
    server.on('upgrade', this.listener);
  }

  route(path: string, handler: UpgradeHandler): void {
    this.routes.set(path, handler);
  }

  close(): void {
    this.server.off('upgrade', this.listener);
  }
}

export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
