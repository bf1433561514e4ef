import { useEffect, useState } from 'react';
import { useClientState, useSession } from '../session/context';

export function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState === 'visible');
  useEffect(() => {
    const onChange = () => setVisible(document.visibilityState === 'visible');
    document.addEventListener('visibilitychange', onChange);
    return () => document.removeEventListener('visibilitychange', onChange);
  }, []);
  return visible;
}

/** Quiet time before what arrived is marked read; a failed mark is tried again after the longer one. */
const MARK_AFTER_MS = 300;
const RETRY_AFTER_MS = 2000;

/**
 * While the channel is on screen, scrolled to the bottom and the tab visible, what arrives is read.
 * The timer starts at the first unread message and is not restarted by the next ones: in a channel
 * busier than one message per 300 ms it would otherwise never fire. The mark then covers all that
 * arrived meanwhile.
 */
export function useMarkRead(channelId: string, atBottom: boolean, loaded: boolean) {
  const { client } = useSession();
  const view = useClientState().channels.get(channelId);
  const behind = view ? view.lastReadSeq < view.lastSeq : false;
  const visible = usePageVisible();
  const [failures, setFailures] = useState(0);
  const due = behind && atBottom && visible && loaded;

  useEffect(() => {
    if (!due) return;
    const mark = () =>
      client.markRead(channelId).then(
        () => setFailures(0),
        () => setFailures((n) => n + 1),
      );
    const timer = setTimeout(() => void mark(), failures > 0 ? RETRY_AFTER_MS : MARK_AFTER_MS);
    return () => clearTimeout(timer);
  }, [client, channelId, due, failures]);
}
