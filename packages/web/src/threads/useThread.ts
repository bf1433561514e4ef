import type { ChannelEvent, Message } from '@sotong/protocol';
import { useEffect, useState } from 'react';
import { applyEvent, applyRead, mergeMessages } from '../channel/messageLog';
import { useSession } from '../session/context';

/** A thread's root and replies, kept current by the channel's events. */
export function useThread(channelId: string, rootId: string): { messages: readonly Message[]; loaded: boolean } {
  const { client } = useSession();
  const [messages, setMessages] = useState<readonly Message[]>([]);
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    let live = true;
    let queued: ChannelEvent[] | null = [];
    const scope = { rootId };
    const offEvent = client.on('event', (event) => {
      if (event.channelId !== channelId) return;
      if (queued) queued.push(event);
      else setMessages((list) => applyEvent(list, event, scope));
    });
    const offSignal = client.on('signal', (signal) => {
      if (signal.kind === 'read' && signal.channelId === channelId) setMessages((list) => applyRead(list, signal));
    });
    client
      .call('thread.get', { messageId: rootId })
      .then(({ root, replies }) => {
        if (!live) return;
        const events = queued ?? [];
        queued = null;
        setMessages(events.reduce<readonly Message[]>((list, e) => applyEvent(list, e, scope), mergeMessages([], [root, ...replies])));
        setLoaded(true);
      })
      .catch(() => {});
    return () => {
      live = false;
      offEvent();
      offSignal();
    };
  }, [client, channelId, rootId]);

  return { messages, loaded };
}
