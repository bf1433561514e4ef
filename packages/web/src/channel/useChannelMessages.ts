import type { ChannelEvent, Message } from '@sotong/protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useSession } from '../session/context';
import { applyEvent, applyRead, mergeMessages } from './messageLog';

const PAGE = 50;

export interface OlderPage {
  oldestSeq: number | undefined;
  hasMore: boolean;
}

export interface ChannelMessages {
  messages: readonly Message[];
  hasMoreBefore: boolean;
  loaded: boolean;
  loadingOlder: boolean;
  loadOlder(): Promise<OlderPage>;
}

/**
 * The channel's root messages: the newest page first, older pages on demand, and every event
 * and read signal the SDK delivers after that. Events that arrive while a page loads wait for it.
 */
export function useChannelMessages(channelId: string): ChannelMessages {
  const { client } = useSession();
  const [messages, setMessages] = useState<readonly Message[]>([]);
  const [hasMoreBefore, setHasMoreBefore] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const pending = useRef<ChannelEvent[] | null>([]);
  const busy = useRef(false);

  useEffect(() => {
    let live = true;
    pending.current = [];
    const scope = { rootId: null };
    const offEvent = client.on('event', (event) => {
      if (event.channelId !== channelId) return;
      if (pending.current) pending.current.push(event);
      else setMessages((list) => applyEvent(list, event, scope));
    });
    const offSignal = client.on('signal', (signal) => {
      if (signal.kind === 'read' && signal.channelId === channelId) setMessages((list) => applyRead(list, signal));
    });
    const offStatus = client.on('status', (status) => {
      // After a reconnect the SDK replays what was missed; a page reload is only needed if the first load failed.
      if (status.state === 'ready' && pending.current && !busy.current) void load();
    });
    async function load() {
      busy.current = true;
      try {
        const page = await client.call('messages.list', { channelId, limit: PAGE });
        if (!live) return;
        const queued = pending.current ?? [];
        pending.current = null;
        setMessages(queued.reduce<readonly Message[]>((list, event) => applyEvent(list, event, scope), page.messages));
        setHasMoreBefore(page.hasMoreBefore);
        setLoaded(true);
      } catch {
        // Offline: the status listener retries once the connection is back.
      } finally {
        busy.current = false;
      }
    }
    void load();
    return () => {
      live = false;
      offEvent();
      offSignal();
      offStatus();
    };
  }, [client, channelId]);

  // Read through refs so a caller looping over pages never reuses a stale first message.
  const latest = useRef({ messages, hasMoreBefore });
  latest.current = { messages, hasMoreBefore };

  const loadOlder = useCallback(async (): Promise<OlderPage> => {
    const { messages: list, hasMoreBefore: more } = latest.current;
    const first = list[0];
    if (!first || !more || busy.current) return { oldestSeq: first?.seq, hasMore: more };
    busy.current = true;
    setLoadingOlder(true);
    try {
      const page = await client.call('messages.list', { channelId, before: first.seq, limit: PAGE });
      const merged = mergeMessages(list, page.messages);
      latest.current = { messages: merged, hasMoreBefore: page.hasMoreBefore };
      setMessages((current) => mergeMessages(current, page.messages));
      setHasMoreBefore(page.hasMoreBefore);
      return { oldestSeq: merged[0]?.seq, hasMore: page.hasMoreBefore };
    } finally {
      busy.current = false;
      setLoadingOlder(false);
    }
  }, [client, channelId]);

  return { messages, hasMoreBefore, loaded, loadingOlder, loadOlder };
}
