import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { CLOSE_CODES, SotongError } from '@sotong/protocol';
import { encodeFrame } from '../realtime/hub.js';
import { Session, type SessionDeps, type Sink } from '../realtime/session.js';
import { decodeClientFrame } from './codec.js';
import { FrameReader, FrameTooLarge, lengthPrefix } from './length-prefixed.js';
import { serverTlsOptions, type TlsMaterial } from './tls.js';

export interface TcpOptions {
  host: string;
  port: number;
  tls?: TlsMaterial | undefined;
  idleTimeoutMs: number;
}

export interface TcpTransport {
  port: number;
  sessions: Set<Session>;
  close(): Promise<void>;
}

/** Frames written in one event-loop turn leave in one write (as on the WebSocket). */
function sinkOf(socket: Socket): Sink {
  let corked = false;
  let closing = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  const write = (frame: Buffer) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    socket.write(lengthPrefix(frame));
    socket.write(frame);
  };
  return {
    send(frame) {
      if (!closing && socket.writable) write(frame);
    },
    bufferedBytes: () => socket.writableLength,
    close(code, reason) {
      if (closing) return;
      // TCP has no close handshake: a last frame says why.
      if (socket.writable) write(encodeFrame({ t: 'close', code, reason }));
      closing = true;
      socket.end();
      setTimeout(() => socket.destroy(), 2000).unref();
    },
  };
}

/**
 * Raw TCP (or TCP+TLS): each frame is a 4-byte big-endian length and that many bytes of the
 * WebSocket protocol's JSON. Decode a frame → the session; the session writes frames back.
 */
export async function startTcp(options: TcpOptions, deps: SessionDeps): Promise<TcpTransport> {
  const { limits, metrics } = deps;
  const sessions = new Set<Session>();
  const label = options.tls ? 'tcp+tls' : 'tcp';

  const onConnection = (socket: Socket) => {
    socket.setNoDelay(true);
    const session = new Session(sinkOf(socket), deps, label);
    const reader = new FrameReader(limits.maxFrameBytes);
    sessions.add(session);
    metrics.connections.inc({ transport: label });
    socket.setTimeout(options.idleTimeoutMs, () => session.close(CLOSE_CODES.idleTimeout, 'idle_timeout'));
    socket.on('data', (chunk: Buffer) => {
      let chunks;
      try {
        chunks = reader.push(chunk);
      } catch (err) {
        if (!(err instanceof FrameTooLarge)) throw err;
        session.sendError(new SotongError('too_large', `a frame has at most ${limits.maxFrameBytes} bytes`, { limit: limits.maxFrameBytes }));
        session.close(CLOSE_CODES.tooLarge, 'frame_too_large');
        return;
      }
      for (const c of chunks) {
        if ('tooLarge' in c) {
          session.sendError(new SotongError('too_large', `a frame has at most ${limits.maxFrameBytes} bytes`, { limit: limits.maxFrameBytes }));
          continue;
        }
        const decoded = decodeClientFrame(c.frame, limits.maxFrameBytes);
        if (decoded.ok) void session.handle(decoded.frame);
        else session.sendError(decoded.error, decoded.requestId);
      }
    });
    socket.on('error', (err) => deps.log.debug({ err, session: session.id }, 'tcp socket error'));
    socket.on('close', () => {
      sessions.delete(session);
      metrics.connections.dec({ transport: label });
      session.onClosed();
    });
  };

  const server: Server = options.tls
    ? createTlsServer({ ...serverTlsOptions(options.tls), handshakeTimeout: limits.authTimeoutMs }, onConnection)
    : createNetServer(onConnection);
  server.on('tlsClientError', (err: Error) => deps.log.debug({ err }, 'tls handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    sessions,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close(CLOSE_CODES.goingAway, 'server_shutdown');
      await closed;
    },
  };
}
