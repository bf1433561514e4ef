import type { ServerFrame } from '@sotong/protocol';
import mqttPacket from 'mqtt-packet';
import type { UserStream } from './topics.js';

/** Where a server frame goes on MQTT: a channel's topic, one of the user's streams, or nowhere. */
export type Routed =
  | { to: 'channel'; channelId: string; seq: number; qos0: Map<string, Buffer> }
  | { to: 'user'; stream: UserStream }
  | { to: 'none' };

/**
 * The hub writes the same frame bytes to every session: each is read once here, whatever the
 * number of MQTT subscribers, and a QoS 0 PUBLISH for it is generated once per topic and version.
 */
const routes = new WeakMap<Buffer, Routed>();

export function route(frame: Buffer): Routed {
  let routed = routes.get(frame);
  if (!routed) routes.set(frame, (routed = classify(JSON.parse(frame.toString('utf8')) as ServerFrame)));
  return routed;
}

function classify(frame: ServerFrame): Routed {
  switch (frame.t) {
    case 'event':
      return { to: 'channel', channelId: frame.e.channelId, seq: frame.e.seq, qos0: new Map() };
    case 'signal':
      return { to: 'user', stream: 'signals' };
    case 'subscribed':
    case 'unsubscribed':
      return { to: 'user', stream: 'membership' };
    case 'error':
    case 'result':
      return { to: 'user', stream: 'replies' };
    default:
      return { to: 'none' }; // hello, pong, close: MQTT has its own
  }
}

export function qos0Publish(routed: Extract<Routed, { to: 'channel' }>, frame: Buffer, topic: string, version: number): Buffer {
  const key = `${version}:${topic}`;
  let packet = routed.qos0.get(key);
  if (!packet) {
    packet = mqttPacket.generate({ cmd: 'publish', topic, payload: frame, qos: 0, dup: false, retain: false }, { protocolVersion: version });
    routed.qos0.set(key, packet);
  }
  return packet;
}
