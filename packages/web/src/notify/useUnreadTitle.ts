import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { useClientState } from '../session/context';
import { useNotificationPrefs } from './notificationPrefs';

/** `(3) Sotong`: the number of unread conversations in the tab's title. */
export function useUnreadTitle() {
  const { t } = useTranslation();
  const { channels } = useClientState();
  const { isMuted } = useNotificationPrefs();
  let unread = 0;
  for (const c of channels.values()) {
    // A muted channel counts only while it holds a mention of me.
    if (isMuted(c.id)) unread += c.mentionCount > 0 ? 1 : 0;
    else unread += c.unreadCount > 0 || c.mentionCount > 0 ? c.unreadCount || 1 : 0;
  }
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${t('app.name')}` : t('app.name');
  }, [unread, t]);
}
