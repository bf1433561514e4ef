import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { SessionDeps } from '../../realtime/session.js';
import { serverTlsOptions, type TlsMaterial } from '../tls.js';
import type { UpgradeRouter } from '../upgrade-router.js';
import { MqttConnection, type MqttDeps } from './connection.js';

/** How often kept sessions past their expiry are deleted (an expired one is never handed out anyway). */
const KEPT_SWEEP_MS = 60_000;
const SHUTDOWN_WAIT_MS = 2000;

export const MQTT_WEBSOCKET_PATH = '/mqtt';

export interface MqttOptions {
  host: string;
  /** TCP listener (MQTTS when `tls` is set); undefined: only MQTT over WebSocket at /mqtt. */
  port?: number | undefined;
  tls?: TlsMaterial | undefined;
  router: UpgradeRouter;
  maxSessionExpirySeconds: number;
  idleTimeoutMs: number;
}

export interface MqttTransport {
  port?: number;
  close(): Promise<void>;
}

/** MQTT 3.1.1 and 5 over TCP (or TLS) and over WebSocket at /mqtt: a thin adapter, not a broker. */
export async function startMqtt(options: MqttOptions, session: SessionDeps): Promise<MqttTransport> {
  const connections = new Set<MqttConnection>();
  const deps: MqttDeps = {
    session,
    kept: session.services.mqttSessions,
    live: new Map(),
    maxSessionExpirySeconds: options.maxSessionExpirySeconds,
    idleTimeoutMs: options.idleTimeoutMs,
    // A payload may be a whole frame; the topic and headers come on top.
    maxPacketBytes: session.limits.maxFrameBytes + 1024,
  };
  const accept = (stream: Duplex, label: string) => {
    const connection = new MqttConnection(stream, deps, label);
    connections.add(connection);
    session.metrics.connections.inc({ transport: label });
    stream.on('close', () => {
      connections.delete(connection);
      session.metrics.connections.dec({ transport: label });
    });
  };

  // One timer for every connection's keep-alive.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of connections) c.checkKeepAlive(now);
  }, 1000);
  sweep.unref();
  const forgetExpired = setInterval(() => {
    deps.kept.sweep().catch((err: unknown) => session.log.warn({ err }, 'could not forget expired MQTT sessions'));
  }, KEPT_SWEEP_MS);
  forgetExpired.unref();

  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: deps.maxPacketBytes * 16,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  options.router.route(MQTT_WEBSOCKET_PATH, (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => accept(createWebSocketStream(ws), options.tls ? 'mqtt+wss' : 'mqtt+ws'));
  });

  let server: Server | undefined;
  if (options.port !== undefined) {
    const label = options.tls ? 'mqtt+tls' : 'mqtt';
    const onSocket = (socket: Socket) => {
      socket.setNoDelay(true);
      accept(socket, label);
    };
    server = options.tls ? createTlsServer(serverTlsOptions(options.tls), onSocket) : createNetServer(onSocket);
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(options.port, options.host, () => {
        listening.off('error', reject);
        resolve();
      });
    });
  }
  return {
    ...(server ? { port: (server.address() as AddressInfo).port } : {}),
    async close() {
      clearInterval(sweep);
      clearInterval(forgetExpired);
      const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
      for (const ws of wss.clients) ws.terminate();
      const finishing = [...connections].map((c) => c.finished);
      for (const c of connections) c.shutdown();
      await closed;
      // Kept sessions reach the store before it closes, so clients resume after a restart (a
      // stream that will not close does not hold the shutdown up for long).
      await Promise.race([Promise.all(finishing), sleep(SHUTDOWN_WAIT_MS, undefined, { ref: false })]);
    },
  };
}
