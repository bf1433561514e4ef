import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSession } from '../session/context';
import { useUserName } from '../session/directory';

/**
 * Reads out new messages from others to screen readers. The history itself is not a live
 * region: rows mount and unmount as it scrolls (it is windowed), and those are not news.
 */
export function Announcer({ channelId }: { channelId: string }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const name = useUserName();
  const [text, setText] = useState('');

  useEffect(
    () =>
      client.on('event', (event) => {
        if (event.type !== 'message.posted' || event.channelId !== channelId || event.message.threadRootId !== null) return;
        if (event.message.senderId === client.user?.id) return;
        const body = event.message.text.replace(/<@([A-Za-z0-9_]+)>/g, (_m, id: string) => `@${name(id)}`);
        setText(t('a11y.newMessage', { name: name(event.message.senderId), text: body.slice(0, 200) }));
      }),
    [client, channelId, name, t],
  );

  return (
    <div className="visually-hidden" aria-live="polite" data-testid="announcer">
      {text}
    </div>
  );
}
