import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Composer } from '../channel/Composer';
import { MessageItem } from '../channel/MessageItem';
import { PendingItem } from '../channel/PendingItem';
import { TypingIndicator } from '../channel/TypingIndicator';
import { useClientState } from '../session/context';
import { PanelHeader } from '../ui/Dialog';
import { useThread } from './useThread';

export function ThreadPanel({ channelId, rootId, onClose }: { channelId: string; rootId: string; onClose: () => void }) {
  const { t } = useTranslation();
  const { outbox, user } = useClientState();
  const { messages, loaded } = useThread(channelId, rootId);
  const [editingId, setEditingId] = useState<string | null>(null);
  const me = user?.id ?? '';
  const known = new Set(messages.map((m) => m.clientMsgId));
  const pending = outbox.filter((e) => e.threadRootId === rootId && !known.has(e.clientMsgId));
  const editLast = () => {
    const last = [...messages].reverse().find((m) => m.senderId === me && !m.deleted && m.id !== rootId);
    if (last) setEditingId(last.id);
  };

  return (
    <div className="thread" data-testid="thread-panel">
      <PanelHeader title={t('panel.thread')} onClose={onClose} />
      <div className="panel-body">
        {!loaded && <p>{t('common.loading')}</p>}
        {messages.map((message) => (
          <MessageItem key={message.id} message={message} me={me} editing={editingId === message.id} onEdit={setEditingId} />
        ))}
        {pending.map((entry) => (
          <PendingItem key={entry.clientMsgId} entry={entry} />
        ))}
      </div>
      <TypingIndicator channelId={channelId} threadRootId={rootId} />
      <Composer id="thread-composer" channelId={channelId} threadRootId={rootId} label={t('thread.placeholder')} onEditLast={editLast} />
    </div>
  );
}
