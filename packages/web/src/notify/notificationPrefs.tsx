import type { DesktopNotify, NotificationPrefs } from '@sotong/protocol';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { useSession } from '../session/context';

export interface NotificationPrefsState {
  /** Undefined until the server answered. */
  prefs: NotificationPrefs | undefined;
  setDesktop(desktop: DesktopNotify): Promise<void>;
  setMuted(channelId: string, muted: boolean): Promise<void>;
  isMuted(channelId: string): boolean;
}

const DEFAULT: NotificationPrefs = { desktop: 'mentions', mutedChannelIds: [] };

const PrefsContext = createContext<NotificationPrefsState>({
  prefs: undefined,
  setDesktop: async () => {},
  setMuted: async () => {},
  isMuted: () => false,
});

/** The person's notification preferences, kept on the server so every device honours them. */
export function NotificationPrefsProvider({ children }: { children: ReactNode }) {
  const { client } = useSession();
  const [prefs, setPrefs] = useState<NotificationPrefs>();

  useEffect(() => {
    let live = true;
    const load = () =>
      void client.call('prefs.notifications.get', {}).then(
        (loaded) => live && setPrefs(loaded),
        () => live && setPrefs((old) => old ?? DEFAULT),
      );
    load();
    // Another device may change them: it says so at once, and while this one was away it could not hear.
    const offStatus = client.on('status', (status) => status.state === 'ready' && load());
    const offSignal = client.on('signal', (signal) => signal.kind === 'prefs' && setPrefs(signal.prefs));
    return () => {
      live = false;
      offStatus();
      offSignal();
    };
  }, [client]);

  /** Shows the change at once and takes the server's answer; a refused change is undone. */
  const change = async (optimistic: (old: NotificationPrefs) => NotificationPrefs, save: () => Promise<NotificationPrefs>) => {
    const before = prefs;
    setPrefs((old) => optimistic(old ?? DEFAULT));
    try {
      setPrefs(await save());
    } catch (error) {
      setPrefs(before);
      throw error;
    }
  };

  const state: NotificationPrefsState = {
    prefs,
    setDesktop: (desktop) => change((old) => ({ ...old, desktop }), () => client.call('prefs.notifications.set', { desktop })),
    setMuted: (channelId, muted) =>
      change(
        (old) => ({ ...old, mutedChannelIds: muted ? [...old.mutedChannelIds, channelId] : old.mutedChannelIds.filter((id) => id !== channelId) }),
        () => client.call('channel.mute', { channelId, muted }),
      ),
    isMuted: (channelId) => prefs?.mutedChannelIds.includes(channelId) ?? false,
  };
  return <PrefsContext.Provider value={state}>{children}</PrefsContext.Provider>;
}

export function useNotificationPrefs(): NotificationPrefsState {
  return useContext(PrefsContext);
}
