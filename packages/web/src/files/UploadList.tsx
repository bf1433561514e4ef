import { useTranslation } from 'react-i18next';
import { formatBytes } from '../i18n/format';
import type { Upload } from './useUploads';

export function UploadList({ uploads, onRemove }: { uploads: Upload[]; onRemove: (key: string) => void }) {
  const { t } = useTranslation();
  if (uploads.length === 0) return null;
  return (
    <ul className="uploads" aria-label={t('files.attachments')}>
      {uploads.map((u) => (
        <li key={u.key} data-testid="upload">
          <span>{u.name}</span> <small>{formatBytes(u.size)}</small>
          {u.error ? (
            <span className="error">{t('files.failed')}</span>
          ) : (
            <progress max={u.size || 1} value={u.sent} aria-label={t('files.progress', { name: u.name })} />
          )}
          <button type="button" className="icon" onClick={() => onRemove(u.key)} aria-label={t('files.remove', { name: u.name })}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}
