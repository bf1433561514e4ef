import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session/context';
import { useUserName } from '../session/directory';
import { useNotificationPrefs } from './notificationPrefs';
import { shouldNotify } from './shouldNotify';

/**
 * A desktop notification while the tab is hidden (Notification API; the permission is asked for
 * in Settings), as the person's preferences say: by default for a DM or a mention of me, never
 * from a muted channel unless I am mentioned. Only the first line, never files.
 */
export function useNotifications() {
  const { t } = useTranslation();
  const { client } = useSession();
  const name = useUserName();
  const nameRef = useRef(name);
  nameRef.current = name;
  const { prefs } = useNotificationPrefs();
  const prefsRef = useRef(prefs);
  prefsRef.current = prefs;

  useEffect(
    () =>
      client.on('event', (event) => {
        if (event.type !== 'message.posted' || typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
        const me = client.user?.id;
        const message = event.message;
        if (message.senderId === me || document.visibilityState === 'visible') return;
        const channel = client.getState().channels.get(event.channelId);
        const direct = channel?.kind === 'dm' || channel?.kind === 'group_dm';
        const mentioned = message.mentionsChannel || (me !== undefined && message.mentions.includes(me));
        const level = prefsRef.current?.desktop ?? 'mentions';
        if (!shouldNotify(level, { direct, mentioned, muted: prefsRef.current?.mutedChannelIds.includes(event.channelId) ?? false })) return;
        const where = { name: nameRef.current(message.senderId), channel: channel?.name ?? '' };
        const title = direct ? where.name : mentioned ? t('notify.mention', where) : t('notify.message', where);
        const body = message.text.replace(/<@([A-Za-z0-9_]+)>/g, (_m, id: string) => `@${nameRef.current(id)}`).split('\n')[0]?.slice(0, 140) ?? '';
        const note = new Notification(title, { body, tag: event.channelId });
        note.onclick = () => window.focus();
      }),
    [client, t],
  );
}
