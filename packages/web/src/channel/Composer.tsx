import type { User } from '@sotong/protocol';
import { useEffect, useLayoutEffect, useRef, useState, type ClipboardEvent, type DragEvent, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { UploadList } from '../files/UploadList';
import { useUploads } from '../files/useUploads';
import { useSession } from '../session/context';
import { useDirectory } from '../session/directory';
import { draftKey, readDraft, saveDraft } from './drafts';
import { EmojiPicker } from './EmojiPicker';
import { encodeMentions, mentionCandidates, mentionQuery } from './mentions';

const TYPING_EVERY_MS = 3_000;

interface Props {
  channelId: string;
  threadRootId?: string;
  label: string;
  /** ↑ in an empty composer: edit my last message. */
  onEditLast?: () => void;
  id?: string;
}

/**
 * Multi-line message box. Enter sends and Shift+Enter breaks the line, except while an input
 * method is composing (Hangul, kana…): that Enter only finishes the syllable.
 */
export function Composer({ channelId, threadRootId, label, onEditLast, id }: Props) {
  const { t } = useTranslation();
  const { client } = useSession();
  const { users } = useDirectory();
  const key = draftKey(channelId, threadRootId);
  const [text, setText] = useState(() => readDraft(key));
  const [caret, setCaret] = useState(0);
  const [selected, setSelected] = useState(0);
  const [dismissed, setDismissed] = useState(false);
  const chosen = useRef(new Map<string, string>());
  const composing = useRef(false);
  const lastTyping = useRef(0);
  const box = useRef<HTMLTextAreaElement>(null);
  /** Where the caret goes once the text set with it is in the box. */
  const pendingCaret = useRef<{ position: number; focus: boolean } | null>(null);
  const { uploads, add, remove, clear, ready, fileIds } = useUploads(channelId);

  useEffect(() => saveDraft(key, text), [key, text]);

  // In the same commit as the text, before the browser handles another key: a caret placed a frame
  // later (requestAnimationFrame) lands in the middle of whatever was typed meanwhile.
  useLayoutEffect(() => {
    const caretAt = pendingCaret.current;
    if (!caretAt || !box.current) return;
    pendingCaret.current = null;
    if (caretAt.focus) box.current.focus();
    box.current.setSelectionRange(caretAt.position, caretAt.position);
  });

  const query = dismissed ? undefined : mentionQuery(text, caret);
  const candidates = query ? mentionCandidates(users.values(), query.query) : [];
  const listId = `${id ?? 'composer'}-mentions`;

  function change(value: string, position: number) {
    setText(value);
    setCaret(position);
    setSelected(0);
    setDismissed(false);
    if (value && Date.now() - lastTyping.current > TYPING_EVERY_MS) {
      lastTyping.current = Date.now();
      void client.call('typing', { channelId, ...(threadRootId ? { threadRootId } : {}) }).catch(() => {});
    }
  }

  function choose(user: User) {
    if (!query) return;
    const before = text.slice(0, query.start);
    const after = text.slice(caret);
    const inserted = `@${user.displayName} `;
    chosen.current.set(user.displayName, user.id);
    const next = before + inserted + after;
    setText(next);
    const position = before.length + inserted.length;
    setCaret(position);
    pendingCaret.current = { position, focus: false };
  }

  function insert(piece: string) {
    const next = text.slice(0, caret) + piece + text.slice(caret);
    const position = caret + piece.length;
    setText(next);
    setCaret(position);
    pendingCaret.current = { position, focus: true };
  }

  function send() {
    const body = text.trim();
    if ((!body && fileIds.length === 0) || !ready) return;
    const wire = encodeMentions(body, chosen.current);
    if (fileIds.length > 0) {
      void client.call('message.send', { channelId, clientMsgId: crypto.randomUUID(), text: wire, fileIds, ...(threadRootId ? { threadRootId } : {}) }).catch(() => {});
      clear();
    } else {
      // The outbox shows it at once as pending and keeps retrying; failures show on the message.
      client.send(channelId, wire, threadRootId ? { threadRootId } : {}).catch(() => {});
    }
    chosen.current.clear();
    setText('');
    setCaret(0);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    // keyCode 229 is what some browsers report for keys the IME takes.
    if (event.nativeEvent.isComposing || composing.current || event.keyCode === 229) return;
    if (candidates.length > 0) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : -1;
        setSelected((s) => (s + step + candidates.length) % candidates.length);
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        choose(candidates[selected] ?? candidates[0]!);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        setDismissed(true);
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      send();
    } else if (event.key === 'ArrowUp' && text === '' && onEditLast) {
      event.preventDefault();
      onEditLast();
    }
  }

  const onPaste = (event: ClipboardEvent) => {
    if (event.clipboardData.files.length > 0) {
      event.preventDefault();
      add(event.clipboardData.files);
    }
  };
  const onDrop = (event: DragEvent) => {
    if (event.dataTransfer.files.length > 0) {
      event.preventDefault();
      add(event.dataTransfer.files);
    }
  };

  return (
    <div className="composer" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      {candidates.length > 0 && (
        <ul className="mention-list" role="listbox" id={listId} aria-label={t('composer.mentionList')}>
          {candidates.map((user, i) => (
            <li key={user.id} role="option" aria-selected={i === selected} onMouseDown={(e) => (e.preventDefault(), choose(user))}>
              {user.displayName} <small>{user.email}</small>
            </li>
          ))}
        </ul>
      )}
      <UploadList uploads={uploads} onRemove={remove} />
      <div className="composer-row">
        <label className="file-button" title={t('files.attach')}>
          <span aria-hidden="true">📎</span>
          <span className="visually-hidden">{t('files.attach')}</span>
          <input type="file" multiple className="visually-hidden" onChange={(e) => (e.target.files && add(e.target.files), (e.target.value = ''))} />
        </label>
        <textarea
          ref={box}
          id={id}
          rows={1}
          value={text}
          aria-label={label}
          placeholder={label}
          role="combobox"
          aria-expanded={candidates.length > 0}
          aria-controls={listId}
          aria-autocomplete="list"
          onChange={(e) => change(e.target.value, e.target.selectionStart)}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
          onKeyDown={onKeyDown}
          onCompositionStart={() => (composing.current = true)}
          onCompositionEnd={() => (composing.current = false)}
          onPaste={onPaste}
          data-testid="composer"
        />
        <EmojiPicker onPick={insert} />
        <button type="button" className="primary" onClick={send} disabled={!ready}>
          {t('composer.send')}
        </button>
      </div>
    </div>
  );
}
