import type { Channel } from '@sotong/protocol';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useClientState, useSession } from '../session/context';
import { Dialog } from '../ui/Dialog';
import { errorText } from '../ui/errors';

export function ChannelBrowser({ onOpen, onClose }: { onOpen: (id: string) => void; onClose: () => void }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const { channels: mine } = useClientState();
  const [channels, setChannels] = useState<Channel[]>();
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string>();

  useEffect(() => {
    void client.call('channels.browse').then(({ channels: list }) => setChannels(list), (err: unknown) => setError(errorText(t, err)));
  }, [client, t]);

  const join = async (channel: Channel) => {
    try {
      if (!mine.has(channel.id)) await client.call('channel.join', { channelId: channel.id });
      onOpen(channel.id);
    } catch (err) {
      setError(errorText(t, err));
    }
  };
  const shown = (channels ?? []).filter((c) => !c.archived && c.name.toLocaleLowerCase().includes(filter.toLocaleLowerCase()));

  return (
    <Dialog title={t('browse.title')} onClose={onClose}>
      <input type="search" aria-label={t('browse.filter')} placeholder={t('browse.filter')} value={filter} onChange={(e) => setFilter(e.target.value)} />
      {error && <p role="alert">{error}</p>}
      <ul className="browse-list">
        {shown.map((c) => (
          <li key={c.id}>
            <span>
              <strong>#{c.name}</strong> <small>{t('browse.members', { count: c.memberCount })}</small>
              {c.purpose && <p>{c.purpose}</p>}
            </span>
            <button type="button" onClick={() => void join(c)}>
              {mine.has(c.id) ? t('browse.open') : t('browse.join')}
            </button>
          </li>
        ))}
      </ul>
    </Dialog>
  );
}
