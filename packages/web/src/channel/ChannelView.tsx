import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Panel } from '../app/panels';
import { MuteButton } from '../notify/MuteButton';
import { useClientState } from '../session/context';
import { useUserName } from '../session/directory';
import { channelLabel, isConversation } from '../sidebar/labels';
import { Announcer } from './Announcer';
import { Composer } from './Composer';
import { MessageList } from './MessageList';
import { TypingIndicator } from './TypingIndicator';
import { useChannelMessages } from './useChannelMessages';
import { useMarkRead } from './useMarkRead';

interface Props {
  channelId: string;
  panel: Panel | null;
  onPanel: (panel: Panel | null) => void;
}

export function ChannelView({ channelId, panel, onPanel }: Props) {
  const { t } = useTranslation();
  const { channels, outbox, user } = useClientState();
  const name = useUserName();
  const channel = channels.get(channelId);
  const me = user?.id ?? '';
  const history = useChannelMessages(channelId);
  const [unreadAfter] = useState(() => (channel && channel.unreadCount > 0 ? channel.lastReadSeq : Number.MAX_SAFE_INTEGER));
  const [editingId, setEditingId] = useState<string | null>(null);
  const [atBottom, setAtBottom] = useState(true);
  useMarkRead(channelId, atBottom, history.loaded);

  if (!channel) return null;
  const label = channelLabel(channel, name, me);
  const known = new Set(history.messages.map((m) => m.clientMsgId));
  const pending = outbox.filter((e) => e.channelId === channelId && e.threadRootId === undefined && !known.has(e.clientMsgId));
  const toggle = (kind: 'members' | 'pins' | 'search' | 'files') => onPanel(panel?.kind === kind ? null : { kind });

  const editLast = () => {
    const last = [...history.messages].reverse().find((m) => m.senderId === me && !m.deleted);
    if (last) setEditingId(last.id);
  };

  return (
    <section className="channel" aria-labelledby="channel-title">
      <header className="channel-header">
        <h1 id="channel-title">
          {channel.kind === 'public' || channel.kind === 'private' ? '#' : ''}
          {label}
        </h1>
        {channel.topic && <p className="topic">{channel.topic}</p>}
        <div className="channel-tools">
          <button type="button" onClick={() => toggle('members')} aria-pressed={panel?.kind === 'members'}>
            {t('members.title')} {channel.memberCount}
          </button>
          <button type="button" onClick={() => toggle('pins')} aria-pressed={panel?.kind === 'pins'}>
            {t('pins.title')}
          </button>
          <button type="button" onClick={() => toggle('search')} aria-pressed={panel?.kind === 'search'}>
            {t('search.title')}
          </button>
          <button type="button" onClick={() => toggle('files')} aria-pressed={panel?.kind === 'files'}>
            {t('fileList.title')}
          </button>
          <MuteButton channelId={channelId} />
        </div>
      </header>
      <MessageList
        messages={history.messages}
        pending={pending}
        me={me}
        editingId={editingId}
        unreadAfter={unreadAfter}
        loaded={history.loaded}
        hasMoreBefore={history.hasMoreBefore}
        loadingOlder={history.loadingOlder}
        loadOlder={history.loadOlder}
        onAtBottom={setAtBottom}
        onThread={(rootId) => onPanel({ kind: 'thread', rootId })}
        onEdit={setEditingId}
      />
      <Announcer channelId={channelId} />
      <TypingIndicator channelId={channelId} threadRootId={null} />
      {channel.archived ? (
        <p className="archived">{t('channel.archived')}</p>
      ) : (
        <Composer id="composer-input" channelId={channelId} label={isConversation(channel) ? t('composer.placeholderDm', { name: label }) : t('composer.placeholder', { name: label })} onEditLast={editLast} />
      )}
    </section>
  );
}
