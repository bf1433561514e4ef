import type { ChannelFile } from '@sotong/protocol';
import { useCallback, useEffect, useState } from 'react';
import { useSession } from '../session/context';

const PAGE = 30;

/** The files sent in a channel, newest first, a page at a time; the first page reloads when a message brings files. */
export function useChannelFiles(channelId: string) {
  const { client, files } = useSession();
  const [list, setList] = useState<ChannelFile[]>();
  const [nextBefore, setNextBefore] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);

  useEffect(() => {
    let live = true;
    const load = () =>
      files.channelFiles(channelId, { limit: PAGE }).then(
        (page) => {
          if (!live) return;
          setList(page.files);
          setNextBefore(page.nextBefore);
          setFailed(false);
        },
        () => live && setFailed(true),
      );
    void load();
    const off = client.on('event', (event) => {
      if (event.channelId !== channelId) return;
      if ((event.type === 'message.posted' && (event.message.files?.length ?? 0) > 0) || event.type === 'message.deleted') void load();
    });
    return () => {
      live = false;
      off();
    };
  }, [client, files, channelId]);

  const loadMore = useCallback(() => {
    if (!nextBefore || loadingMore) return;
    setLoadingMore(true);
    files
      .channelFiles(channelId, { limit: PAGE, before: nextBefore })
      .then((page) => {
        setList((old) => [...(old ?? []), ...page.files]);
        setNextBefore(page.nextBefore);
      }, () => setFailed(true))
      .finally(() => setLoadingMore(false));
  }, [files, channelId, nextBefore, loadingMore]);

  return { files: list, failed, hasMore: nextBefore !== null, loadingMore, loadMore };
}
