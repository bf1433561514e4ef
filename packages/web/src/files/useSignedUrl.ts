import { useEffect, useState } from 'react';
import { useSession } from '../session/context';

/**
 * A short-lived signed link for `<img>`/`<video>`/`<audio>`: the element loads (and a player
 * streams with range requests) straight from the server, no bearer token needed. Asked for when
 * `enabled`; `renew()` asks again, e.g. when a player seeks after the link expired.
 */
export function useSignedUrl(fileId: string, preview: boolean, enabled = true): { url?: string; failed: boolean; renew: () => void } {
  const { files } = useSession();
  const [url, setUrl] = useState<string>();
  const [failed, setFailed] = useState(false);
  const [round, setRound] = useState(0);

  useEffect(() => {
    if (!enabled) return;
    let live = true;
    files.signedUrl(fileId, { preview }).then(
      (link) => live && setUrl(link.url),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [files, fileId, preview, enabled, round]);

  return { url, failed, renew: () => setRound((r) => (r < 3 ? r + 1 : r)) };
}
