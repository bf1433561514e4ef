/**
 * The MQTT topic scheme (docs/transports.md). Every payload on a `sotong/v1/…` topic the server
 * publishes is one server frame of the WebSocket protocol, as JSON.
 *
 *   sotong/v1/<workspace>/channels/<channel>          subscribe: the channel's events
 *   sotong/v1/<workspace>/channels/<channel>/send     publish: post {clientMsgId, text, threadRootId?, fileIds?}
 *   sotong/v1/<workspace>/users/<me>/cmd              publish: any command {id, cmd, args}
 *   sotong/v1/<workspace>/users/<me>/replies          subscribe: results and typed errors
 *   sotong/v1/<workspace>/users/<me>/signals          subscribe: typing, presence, read, unread
 *   sotong/v1/<workspace>/users/<me>/membership       subscribe: subscribed / unsubscribed
 *   sotong/v1/<workspace>/users/<me>/#                subscribe: all three
 */
export const TOPIC_ROOT = 'sotong/v1';

export const USER_STREAMS = ['replies', 'signals', 'membership'] as const;
export type UserStream = (typeof USER_STREAMS)[number];

export type Filter =
  | { kind: 'channel'; workspaceId: string; channelId: string }
  | { kind: 'user'; workspaceId: string; userId: string; stream: UserStream | '#' }
  | { kind: 'invalid'; wildcard: boolean };

export type Target =
  | { kind: 'send'; workspaceId: string; channelId: string }
  | { kind: 'cmd'; workspaceId: string; userId: string }
  | { kind: 'invalid' };

const segment = /^[A-Za-z0-9_-]{1,64}$/;

export function parseFilter(filter: string): Filter {
  const parts = filter.split('/');
  const wildcard = parts.some((p) => p.includes('+') || p.includes('#'));
  if (parts[0] !== 'sotong' || parts[1] !== 'v1' || !segment.test(parts[2] ?? '') || !segment.test(parts[4] ?? '')) return { kind: 'invalid', wildcard };
  const [, , workspaceId, section, id, stream] = parts as [string, string, string, string, string, string | undefined];
  if (section === 'channels' && parts.length === 5) return { kind: 'channel', workspaceId, channelId: id };
  if (section === 'users' && parts.length === 6 && (stream === '#' || (USER_STREAMS as readonly string[]).includes(stream!))) {
    return { kind: 'user', workspaceId, userId: id, stream: stream as UserStream | '#' };
  }
  return { kind: 'invalid', wildcard };
}

export function parseTarget(topic: string): Target {
  const parts = topic.split('/');
  if (parts.length !== 6 || parts[0] !== 'sotong' || parts[1] !== 'v1' || !segment.test(parts[2]!) || !segment.test(parts[4]!)) return { kind: 'invalid' };
  if (parts[3] === 'channels' && parts[5] === 'send') return { kind: 'send', workspaceId: parts[2]!, channelId: parts[4]! };
  if (parts[3] === 'users' && parts[5] === 'cmd') return { kind: 'cmd', workspaceId: parts[2]!, userId: parts[4]! };
  return { kind: 'invalid' };
}

export const channelTopic = (workspaceId: string, channelId: string) => `${TOPIC_ROOT}/${workspaceId}/channels/${channelId}`;
export const userTopic = (workspaceId: string, userId: string, stream: UserStream) => `${TOPIC_ROOT}/${workspaceId}/users/${userId}/${stream}`;
