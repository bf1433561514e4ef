import { useEffect, useState } from 'react';
import { useSession } from '../session/context';

const SHOWN_MS = 6_000;

/** Who is typing here now (not me): each typing signal shows its sender for a few seconds. */
export function useTyping(channelId: string, threadRootId: string | null): string[] {
  const { client } = useSession();
  const [typing, setTyping] = useState<ReadonlyMap<string, number>>(new Map());

  useEffect(() => {
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const off = client.on('signal', (signal) => {
      if (signal.kind !== 'typing' || signal.channelId !== channelId || signal.threadRootId !== threadRootId) return;
      if (signal.userId === client.user?.id) return;
      const until = Date.now() + SHOWN_MS;
      setTyping((old) => new Map(old).set(signal.userId, until));
      const timer = setTimeout(() => {
        timers.delete(timer);
        setTyping((old) => new Map([...old].filter(([, t]) => t > Date.now())));
      }, SHOWN_MS + 50);
      timers.add(timer);
    });
    // A message from someone ends their typing.
    const offEvent = client.on('event', (event) => {
      if (event.type === 'message.posted' && event.channelId === channelId) {
        setTyping((old) => (old.has(event.message.senderId) ? new Map([...old].filter(([id]) => id !== event.message.senderId)) : old));
      }
    });
    return () => {
      off();
      offEvent();
      for (const timer of timers) clearTimeout(timer);
    };
  }, [client, channelId, threadRootId]);

  return [...typing.keys()];
}
