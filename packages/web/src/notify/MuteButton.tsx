import { useTranslation } from 'react-i18next';
import { useNotificationPrefs } from './notificationPrefs';

/** Mutes the channel for me: no notifications and no unread count, except when I am mentioned. */
export function MuteButton({ channelId }: { channelId: string }) {
  const { t } = useTranslation();
  const { prefs, isMuted, setMuted } = useNotificationPrefs();
  const muted = isMuted(channelId);
  return (
    <button type="button" disabled={!prefs} aria-pressed={muted} title={t('notifyPrefs.muteHint')} onClick={() => void setMuted(channelId, !muted).catch(() => {})}>
      <span aria-hidden="true">{muted ? '🔕' : '🔔'}</span> {t('notifyPrefs.mute')}
    </button>
  );
}
