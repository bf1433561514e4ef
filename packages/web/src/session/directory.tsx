import type { PresenceStatus, User } from '@sotong/protocol';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { useSession } from './context';

export interface Directory {
  users: ReadonlyMap<string, User>;
  presence: ReadonlyMap<string, PresenceStatus>;
  reload(): void;
}

const DirectoryContext = createContext<Directory>({ users: new Map(), presence: new Map(), reload: () => {} });

/** The workspace's people and who is online, kept current by presence signals. */
export function DirectoryProvider({ children }: { children: ReactNode }) {
  const { client } = useSession();
  const [users, setUsers] = useState<ReadonlyMap<string, User>>(new Map());
  const [presence, setPresence] = useState<ReadonlyMap<string, PresenceStatus>>(new Map());
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let live = true;
    void client.call('users.list', { limit: 1000 }).then(async ({ users: list }) => {
      if (!live) return;
      setUsers(new Map(list.map((u) => [u.id, u])));
      const { presence: known } = await client.call('presence.get', { userIds: list.map((u) => u.id) });
      if (live) setPresence(new Map(Object.entries(known)));
    }).catch(() => {});
    // After a reconnect, people and presence may have changed while we were away.
    const off = client.on('status', (status) => status.state === 'ready' && setGeneration((g) => g + 1));
    return () => {
      live = false;
      off();
    };
  }, [client, generation]);

  useEffect(
    () =>
      client.on('signal', (signal) => {
        if (signal.kind === 'presence') setPresence((old) => new Map(old).set(signal.userId, signal.status));
      }),
    [client],
  );

  return <DirectoryContext.Provider value={{ users, presence, reload: () => setGeneration((g) => g + 1) }}>{children}</DirectoryContext.Provider>;
}

export function useDirectory(): Directory {
  return useContext(DirectoryContext);
}

export function useUserName(): (userId: string) => string {
  const { users } = useDirectory();
  return (userId) => users.get(userId)?.displayName ?? userId;
}
