import type { Message } from '@sotong/protocol';
import { memo, useState, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { Attachment } from '../files/Attachment';
import { formatDateTime, formatTime } from '../i18n/format';
import { Markdown } from '../markdown/Markdown';
import { useSession } from '../session/context';
import { useUserName } from '../session/directory';
import { Reactions, ReactionPicker } from './Reactions';

export interface MessageActions {
  onThread?: (rootId: string) => void;
  onEdit: (messageId: string | null) => void;
}

interface Props extends MessageActions {
  message: Message;
  me: string;
  editing: boolean;
  /** Same sender as the message above, moments later: shown without repeating the name. */
  continued?: boolean;
}

export const MessageItem = memo(function MessageItem({ message, me, editing, continued, onThread, onEdit }: Props) {
  const { t } = useTranslation();
  const { client } = useSession();
  const name = useUserName();
  const [picking, setPicking] = useState(false);
  const mine = message.senderId === me;

  if (message.deleted) {
    return (
      <div className="message deleted" data-seq={message.seq}>
        <em>{t('message.deleted')}</em>
      </div>
    );
  }

  const remove = () => {
    if (window.confirm(t('message.confirmDelete'))) void client.call('message.delete', { messageId: message.id }).catch(() => {});
  };
  const pin = () => void client.call(message.pinned ? 'message.unpin' : 'message.pin', { messageId: message.id }).catch(() => {});

  return (
    <article className={`message${message.pinned ? ' pinned' : ''}${continued ? ' continued' : ''}`} data-seq={message.seq} data-testid="message" aria-label={t('message.from', { name: name(message.senderId) })}>
      <header>
        <span className="sender">{name(message.senderId)}</span>
        <time dateTime={new Date(message.createdAt).toISOString()} title={formatDateTime(message.createdAt)}>
          {formatTime(message.createdAt)}
        </time>
        {message.editedAt !== null && <span className="edited">{t('message.edited')}</span>}
        {message.pinned && <span className="pin-mark">📌 {t('message.pinned')}</span>}
        {!!message.unreadCount && (
          <span className="read-count" data-testid="read-count" aria-label={t('message.unreadBy', { count: message.unreadCount })} title={t('message.unreadBy', { count: message.unreadCount })}>
            {message.unreadCount}
          </span>
        )}
      </header>
      {editing ? (
        <EditBox message={message} onDone={() => onEdit(null)} />
      ) : (
        <div className="body">
          <Markdown text={message.text} />
        </div>
      )}
      {message.files?.map((file) => <Attachment key={file.id} file={file} />)}
      <Reactions message={message} me={me} />
      {onThread && message.replyCount > 0 && (
        <button type="button" className="link replies" onClick={() => onThread(message.id)}>
          {t('thread.replies', { count: message.replyCount })}
        </button>
      )}
      <div className="actions" role="toolbar" aria-label={t('message.actions')}>
        <button type="button" onClick={() => setPicking((p) => !p)} aria-label={t('reactions.add')} aria-expanded={picking}>
          🙂
        </button>
        {onThread && (
          <button type="button" onClick={() => onThread(message.id)} aria-label={t('thread.reply')}>
            💬
          </button>
        )}
        <button type="button" onClick={pin} aria-label={message.pinned ? t('pins.unpin') : t('pins.pin')}>
          📌
        </button>
        {mine && (
          <>
            <button type="button" onClick={() => onEdit(message.id)} aria-label={t('message.edit')}>
              ✏️
            </button>
            <button type="button" onClick={remove} aria-label={t('message.delete')}>
              🗑
            </button>
          </>
        )}
      </div>
      {picking && <ReactionPicker message={message} onDone={() => setPicking(false)} />}
    </article>
  );
});

function EditBox({ message, onDone }: { message: Message; onDone: () => void }) {
  const { t } = useTranslation();
  const { client } = useSession();
  const [text, setText] = useState(message.text);
  const save = () => {
    if (text.trim() && text !== message.text) void client.call('message.edit', { messageId: message.id, text }).catch(() => {});
    onDone();
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.nativeEvent.isComposing || event.keyCode === 229) return;
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      save();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      onDone();
    }
  };
  return (
    <div className="edit-box">
      <textarea autoFocus value={text} onChange={(e) => setText(e.target.value)} onKeyDown={onKeyDown} aria-label={t('message.editLabel')} data-testid="edit-box" />
      <button type="button" className="primary" onClick={save}>
        {t('common.save')}
      </button>
      <button type="button" onClick={onDone}>
        {t('common.cancel')}
      </button>
    </div>
  );
}
