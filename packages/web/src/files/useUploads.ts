import type { FileInfo } from '@sotong/protocol';
import { useCallback, useState } from 'react';
import { useSession } from '../session/context';

export interface Upload {
  key: string;
  name: string;
  size: number;
  sent: number;
  info?: FileInfo;
  error?: unknown;
}

/** Files being attached to the next message: each goes up at once, resumably, with progress. */
export function useUploads(channelId: string) {
  const { files } = useSession();
  const [uploads, setUploads] = useState<Upload[]>([]);

  const patch = (key: string, change: Partial<Upload>) => setUploads((list) => list.map((u) => (u.key === key ? { ...u, ...change } : u)));

  const add = useCallback(
    (list: Iterable<File>) => {
      for (const file of list) {
        const key = crypto.randomUUID();
        setUploads((old) => [...old, { key, name: file.name, size: file.size, sent: 0 }]);
        files
          .uploadFile(channelId, file, file.name, { onProgress: (sent) => patch(key, { sent }) })
          .then((info) => patch(key, { info, sent: file.size }))
          .catch((error: unknown) => patch(key, { error }));
      }
    },
    [files, channelId],
  );

  const remove = (key: string) => setUploads((list) => list.filter((u) => u.key !== key));
  const clear = () => setUploads([]);
  const ready = uploads.every((u) => u.info);
  const fileIds = uploads.flatMap((u) => (u.info ? [u.info.id] : []));
  return { uploads, add, remove, clear, ready, fileIds };
}
