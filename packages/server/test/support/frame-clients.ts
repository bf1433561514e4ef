import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ServerFrame } from '@sotong/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { DEVICE_PROOF_TAG } from '@sotong/protocol';
import { deviceOf } from '../../src/testing.js';
import { FrameReader, lengthPrefix } from '../../src/transports/length-prefixed.js';
import { FrameClient } from './frame-client.js';

/** Raw TCP (or TCP+TLS) with 4-byte length-prefixed frames. */
export class TcpClient extends FrameClient {
  protected readonly proofTransport = 'tcp';
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

  drop(): void {
    this.socket.destroy();
  }
}

/** HTTP long-polling: one poll always outstanding; frames sent one per POST, in order. */
export class LongPollClient extends FrameClient {
  protected readonly proofTransport = 'long-poll';
  private next = 0;
  private sending: Promise<void> = Promise.resolve();
  private stopped = false;
  readonly pollStatuses: number[] = [];

  private constructor(
    readonly base: string,
    readonly id: string,
    private readonly fetchImpl: typeof fetch,
  ) {
    super();
    void this.loop();
  }

  static async open(httpUrl: string, fetchImpl: typeof fetch = fetch): Promise<LongPollClient> {
    const res = await fetchImpl(`${httpUrl}/lp`, { method: 'POST' });
    const { id } = (await res.json()) as { id: string };
    const client = new LongPollClient(httpUrl, id, fetchImpl);
    await client.waitFor((f) => f.t === 'hello');
    return client;
  }

  static async connect(httpUrl: string, token: string, cursors?: Record<string, number>, fetchImpl?: typeof fetch): Promise<LongPollClient> {
    const client = await LongPollClient.open(httpUrl, fetchImpl);
    await client.auth(token, cursors);
    return client;
  }

  private async loop(): Promise<void> {
    while (!this.stopped && !this.closed) {
      try {
        const path = `/lp/${this.id}/poll?from=${this.next}`;
        const res = await this.fetchImpl(`${this.base}${path}`, { headers: this.proofHeaders('GET', path) });
        this.pollStatuses.push(res.status);
        if (res.status !== 200) {
          this.ended(1006, `poll answered ${res.status}`);
          return;
        }
        const body = (await res.json()) as { next: number; frames: ServerFrame[] };
        this.next = body.next;
        for (const frame of body.frames) {
          this.received(frame);
          if (frame.t === 'close') this.ended(frame.code, frame.reason);
        }
      } catch (err) {
        if (!this.stopped) this.ended(1006, String(err));
        return;
      }
    }
  }

  sendRaw(data: string | Buffer): void {
    this.sending = this.sending.then(async () => {
      const path = `/lp/${this.id}/send`;
      await this.fetchImpl(`${this.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...this.proofHeaders('POST', path) },
        body: typeof data === 'string' ? data : new Uint8Array(data),
      });
    });
  }

  /** Stops polling without telling the server (a dropped client). */
  drop(): void {
    this.stopped = true;
    this.ended(1006, 'dropped');
  }

  close(): void {
    this.stopped = true;
    void this.fetchImpl(`${this.base}/lp/${this.id}`, { method: 'DELETE', headers: this.proofHeaders('DELETE', `/lp/${this.id}`) }).catch(() => {});
    this.ended(1000, 'closed');
  }

  /** Every request after sign-in carries the REST device proof of the signed-in device. */
  private proofHeaders(method: string, path: string): Record<string, string> {
    const device = this.token ? deviceOf(this.token) : undefined;
    return device && this.token ? device.requestHeaders(this.token, method, path) : {};
  }
}

/**
 * MQTT seen as a frame transport: every payload the server publishes is a server frame; commands
 * go to the user's `cmd` topic and come back on `replies`. Cursors live in the server's kept
 * session (clean start off), so a reconnect with the same client id resumes.
 */
export class MqttFrameClient extends FrameClient {
  protected readonly proofTransport = 'mqtt';
  private constructor(
    readonly client: MqttClient,
    readonly root: string,
  ) {
    super();
    client.on('message', (_topic, payload) => this.received(JSON.parse(payload.toString()) as ServerFrame));
    client.on('close', () => this.ended(1006, 'mqtt closed'));
  }

  static async connect(url: string, token: string, user: { id: string; workspaceId: string }, clientId: string, ca?: Buffer): Promise<MqttFrameClient> {
    const client = mqtt.connect(url, {
      protocolVersion: 5,
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 600, authenticationMethod: DEVICE_PROOF_TAG, authenticationData: Buffer.from(token) },
      reconnectPeriod: 0,
      ...(ca ? { ca, servername: 'localhost' } : {}),
    });
    signMqttChallenges(client, token);
    const framed = new MqttFrameClient(client, `sotong/v1/${user.workspaceId}/users/${user.id}`);
    await new Promise((resolve, reject) => client.once('connect', resolve).once('error', reject));
    return framed;
  }

  subscribe(topic: string): Promise<unknown> {
    return this.client.subscribeAsync(topic, { qos: 1 });
  }

  sendRaw(data: string | Buffer): void {
    this.client.publish(`${this.root}/cmd`, data, { qos: 1 });
  }

  close(): void {
    this.client.end();
  }

  drop(): void {
    this.client.end(true);
  }
}

/** Enough of fetch for the long-poll client against a server with a self-signed certificate. */
export function fetchTrusting(ca: Buffer): typeof fetch {
  return ((url: string, init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {}) =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          resolve({ status, ok: status < 400, json: async () => JSON.parse(text) as unknown } as Response);
        });
      });
      req.on('error', reject);
      req.end(init.body);
    })) as unknown as typeof fetch;
}

/**
 * MQTT 5 enhanced authentication: answers the server's AUTH (its challenge) with the token's device
 * signature. The client must have asked for it: `properties: {authenticationMethod: DEVICE_PROOF_TAG,
 * authenticationData: <token>}`.
 */
export function signMqttChallenges(client: MqttClient, token: string): void {
  const device = deviceOf(token);
  if (!device) throw new Error('no test device for this token');
  client.handleAuth = (packet, callback) => {
    const nonce = packet.properties?.authenticationData?.toString('utf8') ?? '';
    const signature = device.challengeProof(token, nonce, 'mqtt');
    callback(undefined, { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: DEVICE_PROOF_TAG, authenticationData: Buffer.from(signature, 'utf8') } });
  };
}
