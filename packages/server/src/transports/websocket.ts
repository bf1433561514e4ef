import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CLOSE_CODES } from '@sotong/protocol';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { Session, type SessionDeps, type Sink } from '../realtime/session.js';
import { decodeClientFrame } from './codec.js';
import type { UpgradeRouter } from './upgrade-router.js';

export const WEBSOCKET_PATH = '/ws';

/** Frames beyond this are refused by ws itself (the connection closes with 1009); below it we answer too_large. */
const HARD_LIMIT_FACTOR = 16;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Frames written in one turn of the event loop (a fan-out, a batch of acknowledgements) leave in
 * one write per socket: the socket is corked at the first frame and uncorked once the turn ends.
 * The turn ends at setImmediate, not process.nextTick: a command's acknowledgement is written
 * from a promise callback, which runs after the nextTick queue, and should leave with the event
 * that the same commit published.
 */
function sinkOf(ws: WebSocket, socket: Duplex): Sink {
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  return {
    send(frame) {
      if (!corked) {
        corked = true;
        socket.cork();
        setImmediate(uncork);
      }
      ws.send(frame, { binary: false });
    },
    bufferedBytes: () => ws.bufferedAmount,
    address: (socket as Socket).remoteAddress,
    close(code, reason) {
      ws.close(code, reason);
      // A peer that reads nothing never sees the close frame: drop the socket after a grace period.
      setTimeout(() => ws.terminate(), 2000).unref();
    },
  };
}

export interface WebSocketTransport {
  sessions: Set<Session>;
  close(): Promise<void>;
}

/** The WebSocket transport: decode a frame → hand it to the session; the session writes frames back. */
export function attachWebSocket(router: UpgradeRouter, deps: SessionDeps): WebSocketTransport {
  const { limits, metrics } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes * HARD_LIMIT_FACTOR, perMessageDeflate: false });
  const sessions = new Set<Session>();
  const alive = new WeakMap<WebSocket, boolean>();

  router.route(WEBSOCKET_PATH, (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, socket));
  });

  const onConnection = (ws: WebSocket, socket: Duplex) => {
    const session = new Session(sinkOf(ws, socket), deps, 'websocket');
    sessions.add(session);
    metrics.connections.inc({ transport: 'websocket' });
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    ws.on('message', (data) => {
      alive.set(ws, true);
      const decoded = decodeClientFrame(toBuffer(data), limits.maxFrameBytes);
      if (decoded.ok) void session.handle(decoded.frame);
      else session.sendError(decoded.error, decoded.requestId);
    });
    ws.on('error', (err) => deps.log.debug({ err, session: session.id }, 'websocket error'));
    ws.on('close', () => {
      sessions.delete(session);
      metrics.connections.dec({ transport: 'websocket' });
      session.onClosed();
    });
  };

  // One timer for all connections: a peer that answered no ping since the last round is gone.
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.get(ws)) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, limits.heartbeatMs);
  heartbeat.unref();

  return {
    sessions,
    async close() {
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.close(CLOSE_CODES.goingAway, 'server_shutdown');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const ws of wss.clients) ws.terminate();
    },
  };
}
