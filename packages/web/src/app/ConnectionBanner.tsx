import { useTranslation } from 'react-i18next';
import { useClientState } from '../session/context';

/** Says so while the socket is down; the SDK reconnects and resyncs by itself. */
export function ConnectionBanner() {
  const { t } = useTranslation();
  const { status } = useClientState();
  if (status.state === 'ready' || status.state === 'idle') return null;
  const text = status.state === 'closed' ? t('connection.closed') : status.state === 'connecting' ? t('connection.connecting') : t('connection.reconnecting');
  return (
    <div className="banner" role="status" data-testid="connection-banner">
      {text}
    </div>
  );
}
