import type { FileInfo } from '@sotong/protocol';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatBytes } from '../i18n/format';
import { Dialog } from '../ui/Dialog';
import { useBlobUrl } from './useBlobUrl';
import { useSignedUrl } from './useSignedUrl';

export function Attachment({ file }: { file: FileInfo }) {
  if (file.mime.startsWith('image/')) return <ImageFile file={file} />;
  if (file.mime.startsWith('audio/') || file.mime.startsWith('video/')) return <MediaFile file={file} />;
  return <FileLink file={file} />;
}

function ImageFile({ file }: { file: FileInfo }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const thumb = useSignedUrl(file.id, file.hasPreview);
  const full = useSignedUrl(file.id, false, open);
  return (
    <>
      <button type="button" className="thumb" onClick={() => setOpen(true)} aria-label={t('files.openImage', { name: file.name })}>
        {thumb.url ? <img src={thumb.url} alt={file.name} data-testid="thumbnail" /> : <span className="thumb-placeholder">{file.name}</span>}
      </button>
      {open && (
        <Dialog title={file.name} onClose={() => setOpen(false)} wide>
          {full.url ? <img className="lightbox" src={full.url} alt={file.name} /> : <p>{t('common.loading')}</p>}
        </Dialog>
      )}
    </>
  );
}

function MediaFile({ file }: { file: FileInfo }) {
  const { t } = useTranslation();
  const [play, setPlay] = useState(false);
  const media = useSignedUrl(file.id, false, play);
  if (!play)
    return (
      <button type="button" className="file" onClick={() => setPlay(true)}>
        ▶ {t('files.play', { name: file.name })} <small>{formatBytes(file.size)}</small>
      </button>
    );
  if (!media.url) return <p>{t('common.loading')}</p>;
  return file.mime.startsWith('audio/') ? <audio controls autoPlay src={media.url} aria-label={file.name} onError={media.renew} /> : <video controls autoPlay src={media.url} aria-label={file.name} className="video" onError={media.renew} />;
}

function FileLink({ file }: { file: FileInfo }) {
  const { t } = useTranslation();
  const [wanted, setWanted] = useState(false);
  const blob = useBlobUrl(file.id, false, wanted);
  if (wanted && blob.url)
    return (
      <a className="file" href={blob.url} download={file.name}>
        ⬇ {t('files.save', { name: file.name })}
      </a>
    );
  return (
    <button type="button" className="file" onClick={() => setWanted(true)}>
      📄 {file.name} <small>{formatBytes(file.size)}</small>
    </button>
  );
}
