import type { ChannelFile } from '@sotong/protocol';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatBytes, formatDateTime } from '../i18n/format';
import { useSession } from '../session/context';
import { useUserName } from '../session/directory';
import { PanelHeader } from '../ui/Dialog';
import { fileKind } from './fileKind';
import { saveFile } from './saveFile';
import { useChannelFiles } from './useChannelFiles';
import { useSignedUrl } from './useSignedUrl';

/** The files shared in the channel, newest first: what each is, who sent it when, and a download. */
export function FilesPanel({ channelId, onClose }: { channelId: string; onClose: () => void }) {
  const { t } = useTranslation();
  const { files, failed, hasMore, loadingMore, loadMore } = useChannelFiles(channelId);
  return (
    <div data-testid="files-panel">
      <PanelHeader title={t('fileList.title')} onClose={onClose} />
      <div className="panel-body">
        {failed && <p role="alert">{t('fileList.failed')}</p>}
        {files === undefined && !failed && <p>{t('common.loading')}</p>}
        {files?.length === 0 && <p>{t('fileList.none')}</p>}
        <ul className="file-list">
          {files?.map((file) => <FileRow key={file.id} file={file} />)}
        </ul>
        {hasMore && (
          <button type="button" className="link" onClick={loadMore} disabled={loadingMore}>
            {loadingMore ? t('common.loading') : t('fileList.more')}
          </button>
        )}
      </div>
    </div>
  );
}

function FileRow({ file }: { file: ChannelFile }) {
  const { t } = useTranslation();
  const { files } = useSession();
  const name = useUserName();
  const [failed, setFailed] = useState(false);
  const { icon, kind } = fileKind(file.mime);
  return (
    <li data-testid="file-row">
      {file.hasPreview ? <Thumbnail file={file} /> : <span className="file-icon" role="img" aria-label={t(`fileList.kind.${kind}`)}>{icon}</span>}
      <div className="file-facts">
        <strong className="file-name">{file.name}</strong>
        <small>
          {formatBytes(file.size)} · {name(file.uploaderId)} · <time dateTime={new Date(file.createdAt).toISOString()}>{formatDateTime(file.createdAt)}</time>
        </small>
        {failed && <small role="alert">{t('fileList.downloadFailed')}</small>}
      </div>
      <button type="button" onClick={() => void saveFile(files, file.id, file.name).then(() => setFailed(false), () => setFailed(true))} aria-label={t('files.save', { name: file.name })}>
        ⬇
      </button>
    </li>
  );
}

function Thumbnail({ file }: { file: ChannelFile }) {
  const preview = useSignedUrl(file.id, true);
  // The name is next to it: the picture adds nothing a screen reader should repeat.
  return preview.url ? <img className="file-thumb" src={preview.url} alt="" /> : <span className="file-icon" aria-hidden="true">🖼</span>;
}
