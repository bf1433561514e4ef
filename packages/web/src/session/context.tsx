import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ClientState } from '@sotong/sdk';
import type { Session } from './session';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in tree');
  return session;
}

/** The SDK's state (channels, badges, outbox, status); re-renders on every change. */
export function useClientState(): ClientState {
  const { client } = useSession();
  return useSyncExternalStore(
    (onChange) => client.on('state', onChange),
    () => client.getState(),
  );
}

export function useMe() {
  const user = useClientState().user;
  if (!user) throw new Error('no signed-in user');
  return user;
}
