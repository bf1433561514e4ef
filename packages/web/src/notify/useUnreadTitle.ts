import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { useClientState } from '../session/context';

/** `(3) Sotong`: the number of unread conversations in the tab's title. */
export function useUnreadTitle() {
  const { t } = useTranslation();
  const { channels } = useClientState();
  let unread = 0;
  for (const c of channels.values()) unread += c.unreadCount > 0 || c.mentionCount > 0 ? c.unreadCount || 1 : 0;
  useEffect(() => {
    document.title = unread > 0 ? `(${unread}) ${t('app.name')}` : t('app.name');
  }, [unread, t]);
}
