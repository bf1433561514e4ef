import { SotongError, type WorkspaceRole } from '@sotong/protocol';
import type { ChannelRow, FileRow, MemberRow, MessageRow } from '../store/schema.js';

/** Who is asking: every command from every transport carries one. */
export interface Actor {
  userId: string;
  workspaceId: string;
  role: WorkspaceRole;
  /** Holds the server-wide operator role (`system_admins`). */
  systemAdmin?: boolean;
}

type ChannelScoped = { channel: ChannelRow; member: MemberRow | undefined };

export type Resource =
  | { kind: 'workspace'; workspaceId: string }
  /** A person of a workspace, as the target of an admin action; `role` is theirs. */
  | { kind: 'user'; workspaceId: string; userId: string; role: WorkspaceRole }
  /** Something that belongs to one person of a workspace (their devices). */
  | { kind: 'device'; workspaceId: string; userId: string }
  /** Someone's org-chart profile; `sharesChannel`: the actor and they are in a channel or DM together. */
  | { kind: 'person'; workspaceId: string; userId: string; sharesChannel: boolean }
  | ({ kind: 'channel' } & ChannelScoped)
  | ({ kind: 'message'; message: MessageRow } & ChannelScoped)
  | ({ kind: 'file'; file: FileRow } & ChannelScoped);

/**
 * The roles, each with what it means. Workspace and channel roles are held only within the
 * actor's own workspace, and each includes the ones below it (an owner is also an admin, a
 * member and a guest; a channel owner is also a channel member). The system admin role is
 * server-wide and includes no other.
 */
export const ROLES = {
  'system.admin': 'Server-wide operator (granted to the first-run admin and by `sotong admin grant-system-admin`)',
  'workspace.owner': 'Owner of the workspace',
  'workspace.admin': 'Administrator of the workspace',
  'workspace.member': 'Full member of the workspace',
  'workspace.guest': 'Guest: sees only the channels and conversations they were invited to',
  'channel.owner': 'Creator (owner) of the channel',
  'channel.member': 'Member of the channel or conversation',
} as const;
export type Role = keyof typeof ROLES;

/** Each role with the roles it includes. */
export const INCLUDES: Record<Role, readonly Role[]> = {
  'system.admin': ['system.admin'],
  'workspace.owner': ['workspace.owner', 'workspace.admin', 'workspace.member', 'workspace.guest'],
  'workspace.admin': ['workspace.admin', 'workspace.member', 'workspace.guest'],
  'workspace.member': ['workspace.member', 'workspace.guest'],
  'workspace.guest': ['workspace.guest'],
  'channel.owner': ['channel.owner', 'channel.member'],
  'channel.member': ['channel.member'],
};

type Condition = { about: string; holds: (actor: Actor, resource: Resource) => boolean };

const channelOf = (r: Resource): ChannelRow | undefined => ('channel' in r ? r.channel : undefined);
const isConversation = (c: ChannelRow) => c.kind === 'dm' || c.kind === 'group_dm';

/** The few facts that are not roles, by name. A condition that does not apply to a resource does not hold. */
export const CONDITIONS = {
  own: {
    about: "the message, file or device is the actor's own (for a person: the actor themself)",
    holds: (actor, r) =>
      (r.kind === 'message' && r.message.sender_id === actor.userId) ||
      (r.kind === 'file' && r.file.uploader_id === actor.userId) ||
      ((r.kind === 'user' || r.kind === 'device' || r.kind === 'person') && r.userId === actor.userId),
  },
  public: { about: 'the channel is public', holds: (_, r) => channelOf(r)?.kind === 'public' },
  not_archived: { about: 'the channel is not archived', holds: (_, r) => channelOf(r)?.archived_at === null },
  not_conversation: { about: 'the channel is a channel, not a DM or group DM', holds: (_, r) => !!channelOf(r) && !isConversation(channelOf(r)!) },
  sent: { about: 'the file is attached to a sent message (before that only its uploader sees it)', holds: (_, r) => r.kind === 'file' && r.file.message_id !== null },
  shares_channel: { about: 'the person shares a channel or conversation with the actor', holds: (_, r) => r.kind === 'person' && r.sharesChannel },
  target_not_owner: { about: 'the person acted on is not a workspace owner', holds: (_, r) => r.kind === 'user' && r.role !== 'owner' },
} satisfies Record<string, Condition>;
export type ConditionName = keyof typeof CONDITIONS;

/** One way to be allowed: a role, and every further role and condition listed, must hold. */
export type Grant = readonly [Role, ...(Role | ConditionName)[]];

export interface Rule {
  about: string;
  allow: readonly Grant[];
  /** A refusal is a security event: it is written to the audit log as `permission.denied`. */
  audit?: true;
}

/**
 * The permission model as data: each action, who may do it, and under which conditions.
 * Every read and write on every transport is decided here and nowhere else.
 * To add an action, add one line (docs/identity.md, "Permissions", says how).
 */
export const RULES = {
  'workspace.read': { about: 'see the workspace and its people', allow: [['workspace.guest']] },
  'channel.create': { about: 'create a public or private channel', allow: [['workspace.member']] },
  'channel.read': { about: 'read a channel: history, events, threads, members, pins, files, search hits', allow: [['channel.member'], ['workspace.member', 'public']] },
  'channel.join': { about: 'join a channel', allow: [['workspace.member', 'public', 'not_archived']] },
  'channel.leave': { about: 'leave a channel', allow: [['channel.member', 'not_conversation']] },
  'channel.post': { about: 'post, upload a file, mark read, type', allow: [['channel.member', 'not_archived']] },
  'channel.invite': { about: 'add people to a channel', allow: [['channel.member', 'workspace.member', 'not_conversation', 'not_archived']] },
  'channel.kick': { about: 'remove someone from a channel', allow: [['channel.owner', 'not_conversation'], ['workspace.admin', 'not_conversation']] },
  'channel.update': { about: 'rename, set topic or purpose', allow: [['channel.member', 'workspace.member', 'not_conversation', 'not_archived']] },
  'channel.archive': { about: 'archive a channel', allow: [['channel.owner', 'not_conversation', 'not_archived'], ['workspace.admin', 'not_conversation', 'not_archived']] },
  'channel.delete': { about: 'delete a channel (its messages become tombstones)', allow: [['channel.owner', 'not_conversation'], ['workspace.admin', 'not_conversation']] },
  'message.edit': { about: 'edit a message', allow: [['channel.member', 'own', 'not_archived']] },
  'message.delete': { about: 'delete a message', allow: [['channel.member', 'own'], ['workspace.admin', 'not_conversation']] },
  'message.react': { about: 'add or remove a reaction', allow: [['channel.member', 'not_archived']] },
  'message.pin': { about: 'pin or unpin a message', allow: [['channel.member', 'not_archived']] },
  'file.read': { about: 'download a file or its preview', allow: [['channel.member', 'sent'], ['channel.member', 'own'], ['workspace.member', 'public', 'sent'], ['workspace.member', 'public', 'own']] },
  'files.collect': { about: 'sweep deleted files and unreferenced blobs', allow: [['workspace.admin'], ['system.admin']] },
  'user.create': { about: 'create an account', allow: [['workspace.admin'], ['system.admin']], audit: true },
  'user.manage': { about: "read a person's account administration data (SSO identities)", allow: [['workspace.admin'], ['system.admin']], audit: true },
  'user.role': { about: "change a person's workspace role", allow: [['workspace.admin', 'target_not_owner'], ['system.admin', 'target_not_owner']], audit: true },
  'user.deactivate': { about: 'deactivate a person (their sessions end at once)', allow: [['workspace.owner'], ['workspace.admin', 'target_not_owner'], ['system.admin']], audit: true },
  'workspace.policy': { about: 'set workspace security policy (2FA required)', allow: [['workspace.admin'], ['system.admin']], audit: true },
  'audit.read': { about: 'read the security audit log', allow: [['workspace.admin'], ['system.admin']], audit: true },
  'device.read': { about: "list a person's devices", allow: [['workspace.guest', 'own'], ['workspace.admin'], ['system.admin']], audit: true },
  'device.revoke': { about: 'revoke a device (its tokens end, its sockets close)', allow: [['workspace.guest', 'own'], ['workspace.admin'], ['system.admin']], audit: true },
  'device.approve': { about: 'approve a device waiting for approval', allow: [['workspace.guest', 'own'], ['workspace.admin'], ['system.admin']], audit: true },
  'directory.sync': { about: 'run the directory (LDAP/AD) sync and read its status', allow: [['workspace.admin'], ['system.admin']], audit: true },
  'org.browse': { about: 'browse the department tree and search people', allow: [['workspace.member']] },
  'org.person.read': { about: "read a person's org-chart profile", allow: [['workspace.member'], ['workspace.guest', 'own'], ['workspace.guest', 'shares_channel']] },
  'prefs.own': { about: 'read and set one\'s own notification preferences and channel mutes', allow: [['workspace.guest', 'own']] },
  'permissions.read': { about: 'read this permission matrix', allow: [['workspace.admin'], ['system.admin']], audit: true },
} satisfies Record<string, Rule>;

export type Action = keyof typeof RULES;
export const ACTIONS = Object.keys(RULES) as Action[];

function workspaceOf(r: Resource): string {
  return 'channel' in r ? r.channel.workspace_id : r.workspaceId;
}

/** The roles the actor holds on this resource, with the roles they include. */
export function rolesOn(actor: Actor, resource: Resource): Set<Role> {
  const held: Role[] = [];
  if (actor.systemAdmin === true) held.push('system.admin');
  if (workspaceOf(resource) === actor.workspaceId) {
    held.push(`workspace.${actor.role}`);
    if ('channel' in resource && resource.member) held.push(resource.member.role === 'owner' ? 'channel.owner' : 'channel.member');
  }
  return new Set(held.flatMap((role) => INCLUDES[role]));
}

export function can(actor: Actor, action: Action, resource: Resource): boolean {
  const roles = rolesOn(actor, resource);
  const holds = (term: Role | ConditionName) => (term in ROLES ? roles.has(term as Role) : CONDITIONS[term as ConditionName].holds(actor, resource));
  return (RULES[action] as Rule).allow.some((grant) => grant.every(holds));
}

/** A refusal by the permission model: a typed error (`not_found` or `forbidden`) that knows what was refused. */
export class PermissionDenied extends SotongError {
  /** Set once the refusal is in the audit log, so it is written once whichever layer sees it first. */
  recorded = false;
  constructor(
    code: 'not_found' | 'forbidden',
    message: string,
    readonly action: Action,
    readonly actor: Actor,
    readonly target: string,
  ) {
    super(code, message);
  }

  get audited(): boolean {
    return (RULES[this.action] as Rule).audit === true;
  }
}

function targetOf(r: Resource): string {
  switch (r.kind) {
    case 'workspace':
      return r.workspaceId;
    case 'user':
    case 'device':
    case 'person':
      return r.userId;
    case 'channel':
      return r.channel.id;
    case 'message':
      return r.message.id;
    case 'file':
      return r.file.id;
  }
}

/**
 * Throws the typed refusal. A channel the actor may not even read is reported as not found,
 * so private channels and DMs do not reveal that they exist; so is a person of another workspace.
 */
export function assertCan(actor: Actor, action: Action, resource: Resource): void {
  if (can(actor, action, resource)) return;
  const refuse = (code: 'not_found' | 'forbidden', message: string) => new PermissionDenied(code, message, action, actor, targetOf(resource));
  if ('channel' in resource && !can(actor, 'channel.read', resource)) throw refuse('not_found', 'no such channel');
  if ('channel' in resource && resource.channel.archived_at !== null) throw refuse('forbidden', 'the channel is archived');
  if (resource.kind === 'user' && resource.workspaceId !== actor.workspaceId && !actor.systemAdmin) throw refuse('not_found', 'no such user in this workspace');
  // A guest cannot tell a profile withheld from one that does not exist.
  if (resource.kind === 'person') throw refuse('not_found', 'no such person');
  throw refuse('forbidden', `not allowed: ${action}`);
}
