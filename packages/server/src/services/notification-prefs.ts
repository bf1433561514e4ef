import type { DesktopNotify, NotificationPrefs } from '@sotong/protocol';
import type { BusMessage } from '../bus/bus.js';
import type { Store } from '../store/store.js';
import { loadChannel, type ServiceDeps } from './context.js';
import { assertCan, type Actor } from './permissions.js';

const DEFAULT_DESKTOP: DesktopNotify = 'mentions';

/** The new preferences for the caller, and for the person's other sessions once committed. */
function changed(userId: string, prefs: NotificationPrefs): { result: NotificationPrefs; publish: BusMessage[] } {
  return { result: prefs, publish: [{ kind: 'user-signal', userId, signal: { kind: 'prefs', prefs } }] };
}

const ownPrefs = (actor: Actor) => ({ kind: 'user', workspaceId: actor.workspaceId, userId: actor.userId, role: actor.role }) as const;

async function prefsOf(store: Store, userId: string): Promise<NotificationPrefs> {
  const [desktop, mutedChannelIds] = await Promise.all([store.notificationPrefs.desktop(userId), store.notificationPrefs.mutedChannels(userId)]);
  return { desktop: (desktop as DesktopNotify | undefined) ?? DEFAULT_DESKTOP, mutedChannelIds };
}

/** A person's own notification preferences, kept on the server so every device honours them. */
export class NotificationPrefService {
  constructor(private readonly deps: ServiceDeps) {}

  async get(actor: Actor): Promise<NotificationPrefs> {
    assertCan(actor, 'prefs.own', ownPrefs(actor));
    return prefsOf(this.deps.store.read, actor.userId);
  }

  async setDesktop(actor: Actor, desktop: DesktopNotify): Promise<NotificationPrefs> {
    assertCan(actor, 'prefs.own', ownPrefs(actor));
    return this.deps.queue.run(async (tx) => {
      await tx.notificationPrefs.setDesktop(actor.userId, desktop, this.deps.now());
      return changed(actor.userId, await prefsOf(tx, actor.userId));
    });
  }

  /** Only a channel one can read can be muted, so ids of others' channels reveal nothing. */
  async setMuted(actor: Actor, channelId: string, muted: boolean): Promise<NotificationPrefs> {
    assertCan(actor, 'prefs.own', ownPrefs(actor));
    return this.deps.queue.run(async (tx) => {
      assertCan(actor, 'channel.read', { kind: 'channel', ...(await loadChannel(tx, channelId, actor.userId)) });
      await tx.notificationPrefs.setMuted(actor.userId, channelId, muted, this.deps.now());
      return changed(actor.userId, await prefsOf(tx, actor.userId));
    });
  }
}
