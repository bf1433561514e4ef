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

/** While the channel is on screen, scrolled to the bottom and the tab visible, what arrives is read. */
export function useMarkRead(channelId: string, atBottom: boolean, loaded: boolean) {
  const { client } = useSession();
  const view = useClientState().channels.get(channelId);
  const behind = view ? view.lastReadSeq < view.lastSeq : false;
  const visible = usePageVisible();

  useEffect(() => {
    if (!behind || !atBottom || !visible || !loaded) return;
    const timer = setTimeout(() => void client.markRead(channelId).catch(() => {}), 300);
    return () => clearTimeout(timer);
  }, [client, channelId, behind, atBottom, visible, loaded, view?.lastSeq]);
}
