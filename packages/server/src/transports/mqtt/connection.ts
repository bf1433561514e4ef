import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { CLOSE_CODES, DEVICE_PROOF_TAG, PROTOCOL_VERSION, SotongError, parseRequestProof, type ServerFrame } from '@sotong/protocol';
import type { PresentedProof } from '../../services/devices.js';
import mqttPacket, { type IConnectPacket, type IPublishPacket, type ISubscribePacket, type IUnsubscribePacket, type Packet } from 'mqtt-packet';
import { encodeFrame } from '../../realtime/hub.js';
import { Session, type AuthRequest, type Outcome, type SessionDeps, type Sink } from '../../realtime/session.js';
import { qos0Publish, route } from './frames.js';
import { connackCode, refusalCode, V4_CONNACK, V4_SUBACK_FAILURE, V5 } from './reason-codes.js';
import type { MqttSessionService } from '../../services/mqtt-sessions.js';
import { channelTopic, parseFilter, parseTarget, userTopic, type UserStream } from './topics.js';

export interface MqttDeps {
  session: SessionDeps;
  kept: MqttSessionService;
  /** The open connection of each (user, client id): a new CONNECT with the same pair takes over. */
  live: Map<string, MqttConnection>;
  /** Longest a session with clean start off is kept after its connection ends. */
  maxSessionExpirySeconds: number;
  /** Applies when the client asks for no keep-alive (0). */
  idleTimeoutMs: number;
  /** Largest packet accepted (advertised to MQTT 5 clients as Maximum Packet Size). */
  maxPacketBytes: number;
}

type Qos = 0 | 1;
/** `challenged`: MQTT 5 enhanced authentication sent its AUTH and awaits the client's. */
type State = 'new' | 'challenged' | 'authenticating' | 'open' | 'closed';

/** Why a session ended (CLOSE_CODES) → the MQTT 5 DISCONNECT reason. */
const DISCONNECT_REASONS: Record<number, number> = {
  [CLOSE_CODES.goingAway]: V5.serverShuttingDown,
  [CLOSE_CODES.tooLarge]: V5.packetTooLarge,
  [CLOSE_CODES.revoked]: V5.notAuthorized,
  [CLOSE_CODES.slowConsumer]: V5.quotaExceeded,
  [CLOSE_CODES.rateLimited]: V5.connectionRateExceeded,
  [CLOSE_CODES.idleTimeout]: V5.keepAliveTimeout,
};

/**
 * One MQTT 3.1.1 or 5 client: packets in → the same Session every transport uses (sign-in,
 * commands, the permission check, catch-up); server frames out → PUBLISH on the topic scheme.
 */
export class MqttConnection {
  private version = 4;
  private state: State = 'new';
  private session: Session | undefined;
  private clientId = '';
  private liveKey = '';
  private keepAfterMs = 0;
  private takenOver = false;
  private keepAliveMs: number;
  private lastHeard = Date.now();
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private pending: Packet[] = [];
  private answerChallenge: ((signature: string) => void) | undefined;
  /** Granted subscriptions: channels, and the user's own streams ('#' for all). */
  private channels = new Map<string, Qos>();
  private userStreams = new Map<UserStream | '#', Qos>();
  /** Per channel: last seq written to the client; and the newest seq seen at all (subscribed or not). */
  private delivered = new Map<string, number>();
  private readonly lastSeen = new Map<string, number>();
  /** QoS 1 PUBLISHes awaiting PUBACK: the cursor of a channel stays below the oldest of them. */
  private readonly inflight = new Map<number, { channelId: string; seq: number }>();
  private nextPacketId = 0;
  /** QoS 1 PUBLISHes the client takes unacknowledged (its MQTT 5 Receive Maximum; at most 65,535 packet ids). */
  private receiveMaximum = 0xffff;
  private corked = false;
  private wrapUp!: (kept: Promise<void>) => void;
  /** Settles once the stream has closed and what the session keeps is in the store. */
  readonly finished = new Promise<void>((resolve) => (this.wrapUp = (kept) => void kept.then(resolve)));

  constructor(
    private readonly stream: Duplex,
    private readonly deps: MqttDeps,
    readonly transport: string,
  ) {
    this.keepAliveMs = deps.idleTimeoutMs;
    this.parser.on('packet', (packet) => this.onPacket(packet));
    this.parser.on('error', (err: Error) => this.protocolFailure(V5.malformedPacket, `malformed packet: ${err.message}`));
    stream.on('data', (chunk: Buffer) => {
      this.lastHeard = Date.now();
      this.parser.parse(chunk);
      // The parser buffers a packet whole before emitting it: refuse to buffer one past the limit.
      if ((this.parser as unknown as { _list: { length: number } })._list.length > this.deps.maxPacketBytes) {
        this.protocolFailure(V5.packetTooLarge, 'packet too large');
      }
    });
    stream.on('error', (err) => deps.session.log.debug({ err }, 'mqtt stream error'));
    stream.on('close', () => this.onStreamClosed());
  }

  /** Called by the server's sweep: no packet within 1.5 × keep-alive (spec 3.1.2.10) ends the connection. */
  checkKeepAlive(now: number): void {
    if (this.state === 'closed' || now - this.lastHeard <= this.keepAliveMs) return;
    if (this.session) this.session.close(CLOSE_CODES.idleTimeout, 'keep_alive_timeout');
    else this.end();
  }

  shutdown(): void {
    if (this.session) this.session.close(CLOSE_CODES.goingAway, 'server_shutdown');
    else this.end();
  }

  /** Another connection with the same user and client id arrived: it gets this session's state. */
  takeOver(): void {
    void this.keep();
    this.takenOver = true;
    if (this.version === 5) this.write({ cmd: 'disconnect', reasonCode: V5.sessionTakenOver });
    this.session?.close(CLOSE_CODES.normal, 'session_taken_over');
  }

  // ---- packets from the client -------------------------------------------------------------

  private onPacket(packet: Packet): void {
    if (this.state === 'closed') return;
    if ((packet.length ?? 0) > this.deps.maxPacketBytes) return this.protocolFailure(V5.packetTooLarge, 'packet too large');
    if (this.state === 'new') {
      if (packet.cmd !== 'connect') return this.end();
      return this.onConnect(packet);
    }
    if (this.state === 'challenged') return this.onAuth(packet);
    if (this.state === 'authenticating') {
      this.pending.push(packet);
      return;
    }
    switch (packet.cmd) {
      case 'publish':
        return void this.onPublish(packet);
      case 'puback':
        this.inflight.delete(packet.messageId!);
        return;
      case 'pubrel':
        return this.write({ cmd: 'pubcomp', messageId: packet.messageId! });
      case 'subscribe':
        return void this.onSubscribe(packet);
      case 'unsubscribe':
        return this.onUnsubscribe(packet);
      case 'pingreq':
        return this.write({ cmd: 'pingresp' });
      case 'disconnect':
        // MQTT 5 may shorten (not lengthen from zero) the session expiry on the way out.
        if (this.version === 5 && packet.properties?.sessionExpiryInterval !== undefined && this.keepAfterMs > 0) {
          this.keepAfterMs = this.expiryMs(packet.properties.sessionExpiryInterval);
        }
        this.session?.close(CLOSE_CODES.normal, 'client_disconnect');
        return this.end();
      default:
        // A second CONNECT, or AUTH (re-authentication is not offered yet): a protocol error.
        return this.protocolFailure(V5.protocolError, `unexpected ${packet.cmd}`);
    }
  }

  private onConnect(packet: IConnectPacket): void {
    const version = packet.protocolVersion ?? 4;
    if (version !== 4 && version !== 5) {
      this.write({ cmd: 'connack', returnCode: V4_CONNACK.badVersion, sessionPresent: false });
      return this.end();
    }
    this.version = version;
    (this.parser as unknown as { settings: { protocolVersion: number } }).settings.protocolVersion = version;
    const method = version === 5 ? packet.properties?.authenticationMethod : undefined;
    if (method !== undefined && method !== DEVICE_PROOF_TAG) {
      return this.refuseConnect(V5.badAuthenticationMethod, `authentication method ${DEVICE_PROOF_TAG} only`);
    }
    const clean = packet.clean !== false;
    let assigned: string | undefined;
    this.clientId = packet.clientId;
    if (!this.clientId) {
      if (version === 4 && !clean) return this.refuseConnect(V4_CONNACK.badClientId, 'an empty client id needs clean session');
      this.clientId = assigned = `sotong-${randomBytes(9).toString('base64url')}`;
    }
    if (packet.keepalive && packet.keepalive > 0) this.keepAliveMs = packet.keepalive * 1500;
    if (version === 5 && packet.properties?.receiveMaximum) this.receiveMaximum = Math.min(packet.properties.receiveMaximum, 0xffff);
    this.keepAfterMs =
      version === 4 ? (clean ? 0 : this.expiryMs(0xffffffff)) : this.expiryMs(packet.properties?.sessionExpiryInterval ?? 0);
    // With enhanced authentication the token may come as the CONNECT's Authentication Data (a
    // password needs a username in mqtt-packet and 3.1.1); else it is the password.
    const token = (method !== undefined ? packet.properties?.authenticationData : undefined)?.toString('utf8') || (packet.password?.toString('utf8') ?? '');
    this.state = 'authenticating';
    const session = (this.session = new Session(this.sink(), this.deps.session, this.transport));
    if (method !== undefined) {
      // Enhanced authentication: the device signs the session's challenge, sent in AUTH (continue).
      this.state = 'challenged';
      this.answerChallenge = (signature) => this.signIn(session, packet, token, { proof: signature }, assigned);
      this.write({ cmd: 'auth', reasonCode: V5.continueAuthentication, properties: { authenticationMethod: DEVICE_PROOF_TAG, authenticationData: Buffer.from(session.challengeNonce, 'utf8') } });
      return;
    }
    this.signIn(session, packet, token, { presented: connectProof(packet.username) }, assigned);
  }

  /** AUTH from the client while its challenge is out: the signature, or anything else is a failure. */
  private onAuth(packet: Packet): void {
    const answer = this.answerChallenge;
    this.answerChallenge = undefined;
    if (packet.cmd !== 'auth' || !answer) return this.protocolFailure(V5.protocolError, `unexpected ${packet.cmd}`);
    if (packet.properties?.authenticationMethod !== DEVICE_PROOF_TAG) return this.refuseConnect(V5.badAuthenticationMethod, `authentication method ${DEVICE_PROOF_TAG} only`);
    this.state = 'authenticating';
    answer(packet.properties.authenticationData?.toString('utf8') ?? '');
  }

  private signIn(session: Session, packet: IConnectPacket, token: string, proof: Pick<AuthRequest, 'proof' | 'presented'>, assigned: string | undefined): void {
    const version = this.version;
    const clean = packet.clean !== false;
    let sessionPresent = false;
    void session.authenticate(
      {
        v: PROTOCOL_VERSION,
        token,
        ...proof,
        // Runs once the token named the user: take over an open connection, pick up a kept session.
        cursors: async (userId) => {
          this.liveKey = `${userId}\u0000${this.clientId}`;
          const previous = this.deps.live.get(this.liveKey);
          this.deps.live.set(this.liveKey, this);
          if (previous && previous !== this) previous.takeOver();
          const kept = await this.deps.kept.take(userId, this.clientId);
          if (clean || !kept) return {};
          sessionPresent = true;
          this.channels = kept.channels as Map<string, Qos>;
          this.userStreams = kept.userStreams as Map<UserStream | '#', Qos>;
          this.delivered = new Map(kept.cursors);
          return Object.fromEntries([...kept.cursors].filter(([channelId]) => this.channels.has(channelId)));
        },
      },
      {
        accepted: (result) => {
          this.state = 'open';
          for (const [channelId, seq] of Object.entries(result.channels)) this.lastSeen.set(channelId, seq);
          this.write({
            cmd: 'connack',
            sessionPresent,
            ...(version === 5
              ? {
                  reasonCode: V5.success,
                  properties: {
                    maximumQoS: 1,
                    retainAvailable: false,
                    sharedSubscriptionAvailable: false,
                    subscriptionIdentifiersAvailable: false,
                    topicAliasMaximum: 0,
                    maximumPacketSize: this.deps.maxPacketBytes,
                    ...(assigned ? { assignedClientIdentifier: assigned } : {}),
                  },
                }
              : { returnCode: V4_CONNACK.accepted }),
          });
          // Channels kept from last time that the user follows without being a member.
          for (const channelId of this.channels.keys()) if (!(channelId in result.channels)) void session.follow(channelId).catch(() => this.channels.delete(channelId));
          const pending = this.pending;
          this.pending = [];
          for (const p of pending) this.onPacket(p);
        },
        refused: (error) => {
          const reason = (error.details as { reason?: string } | undefined)?.reason;
          this.refuseConnect(connackCode(error.code, version), `${error.code}${reason ? ` (${reason})` : ''}: ${error.message}`);
        },
      },
    );
  }

  private async onSubscribe(packet: ISubscribePacket): Promise<void> {
    const granted: number[] = [];
    let reason: string | undefined;
    const failure = (v5Code: number, why: string) => {
      reason ??= why;
      return this.version === 5 ? v5Code : V4_SUBACK_FAILURE;
    };
    for (const { topic, qos } of packet.subscriptions) {
      const filter = parseFilter(topic);
      const q: Qos = qos >= 1 ? 1 : 0; // QoS 2 is granted as 1
      if (filter.kind === 'invalid') {
        granted.push(failure(filter.wildcard ? V5.wildcardNotSupported : V5.topicFilterInvalid, `not a Sotong topic filter: ${topic}`));
      } else if (filter.workspaceId !== this.session!.workspaceId) {
        granted.push(failure(V5.notAuthorized, 'not_found: no such workspace'));
      } else if (filter.kind === 'user') {
        if (filter.userId !== this.session!.userId) granted.push(failure(V5.notAuthorized, "forbidden: another user's topics"));
        else {
          this.userStreams.set(filter.stream, q);
          granted.push(q);
        }
      } else {
        try {
          const lastSeq = await this.session!.follow(filter.channelId); // the one permission check
          this.channels.set(filter.channelId, q);
          if (!this.delivered.has(filter.channelId)) this.delivered.set(filter.channelId, this.lastSeen.get(filter.channelId) ?? lastSeq);
          granted.push(q);
        } catch (err) {
          const error = err instanceof SotongError ? err : new SotongError('internal', 'internal error');
          granted.push(failure(refusalCode(error.code), `${error.code}: ${error.message}`));
        }
      }
    }
    this.write({
      cmd: 'suback',
      messageId: packet.messageId!,
      granted,
      ...(this.version === 5 && reason ? { properties: { reasonString: reason } } : {}),
    });
  }

  private onUnsubscribe(packet: IUnsubscribePacket): void {
    const granted = packet.unsubscriptions.map((topic) => {
      const filter = parseFilter(topic);
      const existed =
        (filter.kind === 'channel' && this.channels.delete(filter.channelId)) || (filter.kind === 'user' && this.userStreams.delete(filter.stream));
      return existed ? V5.success : V5.noSubscriptionExisted;
    });
    this.write({ cmd: 'unsuback', messageId: packet.messageId!, granted });
  }

  private async onPublish(packet: IPublishPacket): Promise<void> {
    if (this.version === 5 && packet.retain) return this.protocolFailure(V5.retainNotSupported, 'retained messages are not supported');
    if (this.version === 5 && packet.properties?.topicAlias !== undefined) return this.protocolFailure(V5.protocolError, 'topic aliases are not supported');
    const { id, outcome, reason } = await this.run(packet);
    this.sink().send(encodeFrame(outcome.ok ? { t: 'result', id, data: outcome.data } : ({ t: 'error', id, ...outcome.error.toBody() } as ServerFrame)));
    if (packet.qos === 0 || this.state !== 'open') return;
    const reasonCode = outcome.ok ? V5.success : (reason ?? refusalCode(outcome.error.code));
    // QoS 1 is acknowledged only now, after the message is stored; QoS 2 completes with PUBREC/PUBREL/PUBCOMP.
    this.write({
      cmd: packet.qos === 1 ? 'puback' : 'pubrec',
      messageId: packet.messageId!,
      ...(this.version === 5 ? { reasonCode, ...(outcome.ok ? {} : { properties: { reasonString: `${outcome.error.code}: ${outcome.error.message}` } }) } : {}),
    });
  }

  /** A PUBLISH to the send or command topic → one command through the session. */
  private async run(packet: IPublishPacket): Promise<{ id: string; outcome: Outcome; reason?: number }> {
    const fail = (id: string, error: SotongError, reason?: number) => ({ id, outcome: { ok: false as const, error }, ...(reason ? { reason } : {}) });
    const { maxFrameBytes } = this.deps.session.limits;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (payload.byteLength > maxFrameBytes) return fail('publish', new SotongError('too_large', `a payload has at most ${maxFrameBytes} bytes`, { limit: maxFrameBytes }), V5.implementationSpecific);
    const target = parseTarget(packet.topic);
    if (target.kind === 'invalid') return fail('publish', new SotongError('bad_request', `cannot publish to ${packet.topic}; see docs/transports.md`), V5.topicNameInvalid);
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(payload.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return fail('publish', new SotongError('bad_request', 'a payload is one JSON object'));
    }
    const session = this.session!;
    if (target.kind === 'send') {
      const id = typeof body.clientMsgId === 'string' ? body.clientMsgId.slice(0, 64) : 'publish';
      if (target.workspaceId !== session.workspaceId) return fail(id, new SotongError('not_found', 'no such channel'));
      return { id, outcome: await session.execute('message.send', { ...body, channelId: target.channelId }) };
    }
    const id = typeof body.id === 'string' && body.id.length > 0 ? body.id.slice(0, 64) : 'publish';
    if (target.workspaceId !== session.workspaceId || target.userId !== session.userId) return fail(id, new SotongError('forbidden', "not allowed: another user's command topic"));
    if (typeof body.cmd !== 'string') return fail(id, new SotongError('bad_request', 'a command is {id, cmd, args}'));
    return { id, outcome: await session.execute(body.cmd, body.args ?? {}) };
  }

  // ---- frames to the client ----------------------------------------------------------------

  private sink(): Sink {
    return {
      send: (frame) => this.deliver(frame),
      bufferedBytes: () => this.stream.writableLength,
      close: (code, reason) => {
        if (this.state === 'open' && this.version === 5 && !this.takenOver) {
          this.write({ cmd: 'disconnect', reasonCode: DISCONNECT_REASONS[code] ?? V5.unspecified, properties: { reasonString: reason } });
        }
        this.end();
      },
    };
  }

  private deliver(frame: Buffer): void {
    if (this.state !== 'open' && this.state !== 'authenticating') return;
    const routed = route(frame);
    if (routed.to === 'none') return;
    const session = this.session!;
    if (routed.to === 'user') {
      if (!this.userStreams.has(routed.stream) && !this.userStreams.has('#')) return;
      // Replies and signals are not stored: sent at QoS 0 whatever was granted.
      return this.write({ cmd: 'publish', topic: userTopic(session.workspaceId, session.userId, routed.stream), payload: frame, qos: 0, dup: false, retain: false });
    }
    const { channelId, seq } = routed;
    if (seq > (this.lastSeen.get(channelId) ?? 0)) this.lastSeen.set(channelId, seq);
    const qos = this.channels.get(channelId);
    if (qos === undefined) return;
    const topic = channelTopic(session.workspaceId, channelId);
    if (qos === 0) {
      this.delivered.set(channelId, seq);
      return this.writeBytes(qos0Publish(routed, frame, topic, this.version));
    }
    // Nothing is queued here: a client this far behind is a slow consumer, and resumes from its cursors.
    if (this.inflight.size >= this.receiveMaximum) return session.close(CLOSE_CODES.slowConsumer, 'slow_consumer');
    this.delivered.set(channelId, seq);
    const messageId = this.packetId();
    this.inflight.set(messageId, { channelId, seq });
    this.write({ cmd: 'publish', topic, payload: frame, qos: 1, messageId, dup: false, retain: false });
  }

  private packetId(): number {
    do this.nextPacketId = (this.nextPacketId % 0xffff) + 1;
    while (this.inflight.has(this.nextPacketId));
    return this.nextPacketId;
  }

  private write(packet: Packet): void {
    this.writeBytes(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  /** Packets written in one event-loop turn leave in one write. */
  private writeBytes(bytes: Buffer): void {
    if (this.stream.destroyed || !this.stream.writable) return;
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    this.stream.write(bytes);
  }

  // ---- ending -----------------------------------------------------------------------------

  private refuseConnect(code: number, reason: string): void {
    this.write({
      cmd: 'connack',
      sessionPresent: false,
      ...(this.version === 5 ? { reasonCode: code, properties: { reasonString: reason } } : { returnCode: code }),
    });
    this.end();
  }

  private protocolFailure(v5Code: number, reason: string): void {
    if (this.state === 'closed') return;
    if (this.version === 5 && this.state === 'open') this.write({ cmd: 'disconnect', reasonCode: v5Code, properties: { reasonString: reason } });
    this.end();
  }

  private end(): void {
    if (this.stream.destroyed) return;
    this.stream.end();
    setTimeout(() => this.stream.destroy(), 2000).unref();
  }

  private onStreamClosed(): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.session?.onClosed();
    this.wrapUp(wasOpen && !this.takenOver ? this.keep() : Promise.resolve());
    if (this.liveKey && this.deps.live.get(this.liveKey) === this) this.deps.live.delete(this.liveKey);
  }

  /** Leaves the subscriptions and cursors for the next connection with clean start off. */
  private keep(): Promise<void> {
    if (this.keepAfterMs <= 0 || !this.session?.userId) return Promise.resolve();
    const cursors = new Map(this.delivered);
    // A channel subscribed to that has had no event since resumes from where it stood.
    for (const channelId of this.channels.keys()) {
      const seen = this.lastSeen.get(channelId);
      if (!cursors.has(channelId) && seen !== undefined) cursors.set(channelId, seen);
    }
    for (const { channelId, seq } of this.inflight.values()) cursors.set(channelId, Math.min(cursors.get(channelId) ?? seq, seq - 1));
    const kept = {
      userId: this.session.userId,
      clientId: this.clientId,
      channels: new Map(this.channels),
      userStreams: new Map(this.userStreams),
      cursors,
      expiresAt: Date.now() + this.keepAfterMs,
    };
    // Lost, the next connection starts a fresh session and syncs: worth a warning, not more.
    return this.deps.kept.keep(kept).catch((err: unknown) => this.deps.session.log.warn({ err, clientId: this.clientId }, 'could not keep an MQTT session'));
  }

  private expiryMs(requestedSeconds: number): number {
    return Math.min(requestedSeconds, this.deps.maxSessionExpirySeconds) * 1000;
  }
}

/** What a CONNECT without enhanced authentication signs: the connect itself, with the client's own time and nonce. */
export const CONNECT_PROOF_METHOD = 'MQTT-CONNECT';
export const CONNECT_PROOF_PATH = '/mqtt';

/**
 * The device proof of a CONNECT without AUTH packets (MQTT 3.1.1, or 5 without a method): the
 * username is `<timestamp>.<nonce>.<signature>` over `CONNECT_PROOF_METHOD CONNECT_PROOF_PATH`,
 * checked for clock skew and replay like a REST request's proof. A username that is no proof at
 * all (clients used to send anything there) counts as a missing proof.
 */
function connectProof(username: string | undefined): PresentedProof {
  const parsed = username ? parseRequestProof(username) : null;
  return {
    claims: { kind: 'request', method: CONNECT_PROOF_METHOD, path: CONNECT_PROOF_PATH, timestamp: parsed?.timestamp ?? 0, nonce: parsed?.nonce ?? '' },
    signature: parsed?.signature,
  };
}
