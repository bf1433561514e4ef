import type { Message } from '@sotong/protocol';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { formatDateTime } from '../i18n/format';
import { Markdown } from '../markdown/Markdown';
import { useSession } from '../session/context';
import { useUserName } from '../session/directory';
import { PanelHeader } from '../ui/Dialog';

export function PinsPanel({ channelId, onClose }: { channelId: string; onClose: () => void }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const name = useUserName();
  const [pins, setPins] = useState<Message[] | undefined>();

  useEffect(() => {
    const load = () => void client.call('pins.list', { channelId }).then(({ messages }) => setPins(messages), () => setPins([]));
    load();
    return client.on('event', (event) => {
      if (event.channelId === channelId && (event.type === 'message.pinned' || event.type === 'message.unpinned')) load();
    });
  }, [client, channelId]);

  return (
    <div data-testid="pins-panel">
      <PanelHeader title={t('pins.title')} onClose={onClose} />
      <div className="panel-body">
        {pins === undefined && <p>{t('common.loading')}</p>}
        {pins?.length === 0 && <p>{t('pins.none')}</p>}
        {pins?.map((m) => (
          <article key={m.id} className="message compact">
            <header>
              <span className="sender">{name(m.senderId)}</span> <time>{formatDateTime(m.createdAt)}</time>
            </header>
            <Markdown text={m.text} />
          </article>
        ))}
      </div>
    </div>
  );
}
