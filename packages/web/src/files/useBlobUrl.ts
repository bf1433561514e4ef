import { useEffect, useState } from 'react';
import { useSession } from '../session/context';

/**
 * File bytes need the bearer token, which an <img src> cannot send: fetch them through the SDK
 * and show a blob: URL (allowed by the CSP's img-src and media-src), revoked when unmounted.
 */
export function useBlobUrl(fileId: string, preview: boolean, enabled = true): { url?: string; failed: boolean } {
  const { files } = useSession();
  const [url, setUrl] = useState<string>();
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    if (!enabled) return;
    let made: string | undefined;
    let live = true;
    const controller = new AbortController();
    files
      .download(fileId, { preview, signal: controller.signal })
      .then((response) => response.blob())
      .then((blob) => {
        if (!live) return;
        made = URL.createObjectURL(blob);
        setUrl(made);
      })
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
      controller.abort();
      if (made) URL.revokeObjectURL(made);
    };
  }, [files, fileId, preview, enabled]);

  return { url, failed };
}
