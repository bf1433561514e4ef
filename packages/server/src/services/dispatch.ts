import { commands, isCommandName, SotongError, type CommandName, type ParsedArgs } from '@sotong/protocol';
import type { AccountService } from './accounts.js';
import type { ChannelService } from './channels.js';
import type { DirectoryService } from './directory.js';
import { loadChannel, type ServiceDeps } from './context.js';
import type { MessageService } from './messages.js';
import type { NotificationPrefService } from './notification-prefs.js';
import type { MqttSessionService } from './mqtt-sessions.js';
import { permissionMatrix } from './permission-matrix.js';
import type { OrgChartService } from './org-chart.js';
import { assertCan, type Actor } from './permissions.js';
import type { SearchService } from './search.js';

/** What a live session adds to a command: presence subscriptions follow the session, not the user. */
export interface CallerHooks {
  watchPresence?(userIds: string[]): void;
  /** The caller's network address, where the transport knows it (for the audit log). */
  address?: string;
}

export interface Services {
  deps: ServiceDeps;
  accounts: AccountService;
  channels: ChannelService;
  messages: MessageService;
  search: SearchService;
  org: OrgChartService;
  notificationPrefs: NotificationPrefService;
  mqttSessions: MqttSessionService;
  /** Present when an LDAP directory is configured. */
  directory?: DirectoryService;
}

type Handler<N extends CommandName> = (s: Services, actor: Actor, args: ParsedArgs<N>, hooks: CallerHooks) => Promise<unknown>;

const empty = {};

const handlers: { [N in CommandName]: Handler<N> } = {
  'me.get': (s, actor) => s.accounts.me(actor),
  'users.list': async (s, actor, a) => ({ users: await s.accounts.list(actor, a.limit) }),
  'channels.list': async (s, actor) => ({ channels: await s.channels.list(actor) }),
  'channels.browse': async (s, actor) => ({ channels: await s.channels.browse(actor) }),
  'channel.get': (s, actor, a) => s.channels.get(actor, a.channelId),
  'channel.create': (s, actor, a) => s.channels.create(actor, a),
  'dm.open': (s, actor, a) => s.channels.openDm(actor, a),
  'channel.update': (s, actor, a) => s.channels.update(actor, a),
  'channel.archive': async (s, actor, a) => (await s.channels.archive(actor, a.channelId), empty),
  'channel.delete': async (s, actor, a) => (await s.channels.delete(actor, a.channelId), empty),
  'channel.join': (s, actor, a) => s.channels.join(actor, a.channelId),
  'channel.leave': async (s, actor, a) => (await s.channels.leave(actor, a.channelId), empty),
  'channel.invite': async (s, actor, a) => (await s.channels.invite(actor, a.channelId, a.userIds), empty),
  'channel.kick': async (s, actor, a) => (await s.channels.kick(actor, a.channelId, a.userId), empty),
  'channel.members': async (s, actor, a) => ({ members: await s.channels.members(actor, a.channelId) }),
  'channel.markRead': (s, actor, a) => s.messages.markRead(actor, a),
  'message.send': (s, actor, a) => s.messages.send(actor, a),
  'message.edit': (s, actor, a) => s.messages.edit(actor, a),
  'message.delete': async (s, actor, a) => (await s.messages.delete(actor, a.messageId), empty),
  'message.history': async (s, actor, a) => ({ edits: await s.messages.editHistory(actor, a.messageId) }),
  'reaction.toggle': (s, actor, a) => s.messages.toggleReaction(actor, a),
  'message.pin': async (s, actor, a) => (await s.messages.setPinned(actor, a.messageId, true), empty),
  'message.unpin': async (s, actor, a) => (await s.messages.setPinned(actor, a.messageId, false), empty),
  'pins.list': async (s, actor, a) => ({ messages: await s.messages.pins(actor, a.channelId) }),
  'messages.list': (s, actor, a) => s.messages.list(actor, a),
  'thread.get': (s, actor, a) => s.messages.thread(actor, a),
  'events.sync': (s, actor, a) => s.messages.sync(actor, a),
  search: (s, actor, a) => s.search.search(actor, a),
  'org.departments': async (s, actor) => ({ departments: await s.org.departments(actor) }),
  'org.department': (s, actor, a) => s.org.department(actor, a.departmentId, a.limit),
  'org.person': (s, actor, a) => s.org.person(actor, a.userId),
  'org.search': async (s, actor, a) => ({ people: await s.org.search(actor, a.query, a.limit) }),
  'prefs.notifications.get': (s, actor) => s.notificationPrefs.get(actor),
  'prefs.notifications.set': (s, actor, a) => s.notificationPrefs.setDesktop(actor, a.desktop),
  'channel.mute': (s, actor, a) => s.notificationPrefs.setMuted(actor, a.channelId, a.muted),
  typing: async (s, actor, a) => {
    const ctx = await loadChannel(s.deps.store.read, a.channelId, actor.userId);
    assertCan(actor, 'channel.post', { kind: 'channel', ...ctx });
    s.deps.bus.publish({
      kind: 'channel-signal',
      channelId: a.channelId,
      signal: { kind: 'typing', channelId: a.channelId, userId: actor.userId, threadRootId: a.threadRootId ?? null },
    });
    return empty;
  },
  'presence.set': async (s, actor, a) => (s.deps.presence.setAway(actor.userId, a.status === 'away'), empty),
  'presence.get': async (s, actor, a, hooks) => {
    hooks.watchPresence?.(a.userIds);
    return { presence: s.deps.presence.statusOf(a.userIds) };
  },
  'admin.permissions': async (s, actor) => {
    assertCan(actor, 'permissions.read', { kind: 'workspace', workspaceId: actor.workspaceId });
    return permissionMatrix();
  },
  'admin.user.role': (s, actor, a) => s.accounts.setRole(actor, a.userId, a.role),
  'admin.user.deactivate': async (s, actor, a) => (await s.accounts.deactivate(actor, a.userId), empty),
  'admin.audit': async (s, actor, a) => ({ events: await s.accounts.auditLog(actor, a.limit, a.before) }),
  'admin.user.devices': async (s, actor, a) => ({ devices: await s.accounts.devices.list(actor, a.userId) }),
  'admin.user.devices.revoke': async (s, actor, a) => ({ revoked: await s.accounts.devices.revokeAll(actor, a.userId) }),
  'admin.policy.devices': async (s, actor) => ({ approvalRequired: await s.accounts.devices.approvalRequired(actor) }),
  'admin.policy.devices.set': async (s, actor, a) => (await s.accounts.devices.setApprovalRequired(actor, a.approvalRequired), { approvalRequired: a.approvalRequired }),
};

/** The one entry point for commands from every transport: validate, then run. */
export async function dispatch(services: Services, actor: Actor, name: string, rawArgs: unknown, hooks: CallerHooks = {}): Promise<unknown> {
  if (!isCommandName(name)) throw new SotongError('bad_request', `unknown command ${name}`);
  const parsed = commands[name].args.safeParse(rawArgs ?? {});
  if (!parsed.success) {
    throw new SotongError('bad_request', `invalid arguments for ${name}`, parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  const handler = handlers[name] as Handler<CommandName>;
  try {
    return await handler(services, actor, parsed.data as ParsedArgs<CommandName>, hooks);
  } catch (err) {
    await services.accounts.recordRefusal(err, hooks.address);
    throw err;
  }
}
