import { SotongError, type WorkspaceRole } from '@sotong/protocol';
import type { ChannelRow, FileRow, MemberRow, MessageRow } from '../store/schema.js';

/** Who is asking: every command from every transport carries one. */
export interface Actor {
  userId: string;
  workspaceId: string;
  role: WorkspaceRole;
}

export type Resource =
  | { kind: 'workspace'; workspaceId: string }
  /** Something that belongs to one user of a workspace (their devices). */
  | { kind: 'device'; workspaceId: string; userId: string }
  | { kind: 'channel'; channel: ChannelRow; member: MemberRow | undefined }
  | { kind: 'message'; channel: ChannelRow; member: MemberRow | undefined; message: MessageRow }
  | { kind: 'file'; channel: ChannelRow; member: MemberRow | undefined; file: FileRow };

interface Facts {
  actor: Actor;
  admin: boolean;
  guest: boolean;
  sameWorkspace: boolean;
  member: boolean;
  channelOwner: boolean;
  conversation: boolean;
  isPublic: boolean;
  archived: boolean;
  /** The message or file is the actor's own. */
  author: boolean;
  /** A file that a message carries (before that, only its uploader sees it). */
  sent: boolean;
  /** The resource belongs to the actor (their own device). */
  own: boolean;
}

type Rule = (f: Facts) => boolean;

const readsChannel: Rule = (f) => f.sameWorkspace && (f.member || (f.isPublic && !f.guest));

/**
 * The permission model as data: each action and the facts that allow it.
 * Every read and write on every transport is decided here and nowhere else.
 */
const RULES = {
  'workspace.read': (f) => f.sameWorkspace,
  'channel.create': (f) => f.sameWorkspace && !f.guest,
  'user.create': (f) => f.sameWorkspace && f.admin,
  'user.manage': (f) => f.sameWorkspace && f.admin,
  'audit.read': (f) => f.sameWorkspace && f.admin,
  'workspace.policy': (f) => f.sameWorkspace && f.admin,
  'channel.read': readsChannel,
  'channel.join': (f) => f.sameWorkspace && f.isPublic && !f.guest && !f.archived,
  'channel.leave': (f) => f.member && f.conversation === false,
  'channel.post': (f) => f.member && !f.archived,
  'channel.invite': (f) => f.member && !f.guest && !f.conversation && !f.archived,
  'channel.kick': (f) => (f.channelOwner || (f.admin && f.sameWorkspace)) && !f.conversation,
  'channel.update': (f) => f.member && !f.guest && !f.conversation && !f.archived,
  'channel.archive': (f) => (f.channelOwner || (f.admin && f.sameWorkspace)) && !f.conversation && !f.archived,
  'channel.delete': (f) => (f.channelOwner || (f.admin && f.sameWorkspace)) && !f.conversation,
  'message.edit': (f) => f.member && f.author && !f.archived,
  'message.delete': (f) => (f.member && f.author) || (f.admin && f.sameWorkspace && !f.conversation),
  'message.react': (f) => f.member && !f.archived,
  'message.pin': (f) => f.member && !f.archived,
  'file.read': (f) => readsChannel(f) && (f.sent || f.author),
  'files.collect': (f) => f.sameWorkspace && f.admin,
  'device.read': (f) => f.sameWorkspace && (f.own || f.admin),
  'device.revoke': (f) => f.sameWorkspace && (f.own || f.admin),
  'device.approve': (f) => f.sameWorkspace && (f.own || f.admin),
} satisfies Record<string, Rule>;

export type Action = keyof typeof RULES;

function factsOf(actor: Actor, resource: Resource): Facts {
  const admin = actor.role === 'owner' || actor.role === 'admin';
  const guest = actor.role === 'guest';
  if (resource.kind === 'workspace' || resource.kind === 'device') {
    return {
      actor,
      admin,
      guest,
      sameWorkspace: resource.workspaceId === actor.workspaceId,
      member: false,
      channelOwner: false,
      conversation: false,
      isPublic: false,
      archived: false,
      author: false,
      sent: false,
      own: resource.kind === 'device' && resource.userId === actor.userId,
    };
  }
  const { channel, member } = resource;
  return {
    actor,
    admin,
    guest,
    sameWorkspace: channel.workspace_id === actor.workspaceId,
    member: member !== undefined,
    channelOwner: member?.role === 'owner',
    conversation: channel.kind === 'dm' || channel.kind === 'group_dm',
    isPublic: channel.kind === 'public',
    archived: channel.archived_at !== null,
    author:
      (resource.kind === 'message' && resource.message.sender_id === actor.userId) ||
      (resource.kind === 'file' && resource.file.uploader_id === actor.userId),
    sent: resource.kind === 'file' && resource.file.message_id !== null,
    own: false,
  };
}

export function can(actor: Actor, action: Action, resource: Resource): boolean {
  return RULES[action](factsOf(actor, resource));
}

/**
 * Throws the typed refusal. A channel the actor may not even read is reported as not found,
 * so private channels and DMs do not reveal that they exist.
 */
export function assertCan(actor: Actor, action: Action, resource: Resource): void {
  if (can(actor, action, resource)) return;
  if (resource.kind !== 'workspace' && resource.kind !== 'device' && !can(actor, 'channel.read', resource)) {
    throw new SotongError('not_found', 'no such channel');
  }
  if (resource.kind !== 'workspace' && resource.kind !== 'device' && resource.channel.archived_at !== null) {
    throw new SotongError('forbidden', 'the channel is archived');
  }
  throw new SotongError('forbidden', `not allowed: ${action}`);
}
