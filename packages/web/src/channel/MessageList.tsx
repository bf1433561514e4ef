import type { Message } from '@sotong/protocol';
import type { OutboxEntry } from '@sotong/sdk';
import { Fragment, useLayoutEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { dayKey, formatDay } from '../i18n/format';
import { MessageItem, type MessageActions } from './MessageItem';
import { PendingItem } from './PendingItem';

interface Props extends MessageActions {
  messages: readonly Message[];
  pending: readonly OutboxEntry[];
  me: string;
  editingId: string | null;
  /** Messages after this seq (not mine) were unread when the channel was opened. */
  unreadAfter: number;
  hasMoreBefore: boolean;
  loadingOlder: boolean;
  loadOlder: () => Promise<void>;
  onAtBottom: (atBottom: boolean) => void;
}

const NEAR_TOP_PX = 150;
const NEAR_BOTTOM_PX = 60;

/**
 * The history, oldest at the top. Scrolling near the top loads the page before and keeps what
 * you were reading in place; new messages follow you only when you are at the bottom. Rows
 * off screen skip layout and paint (content-visibility), which keeps long histories cheap.
 */
export function MessageList(props: Props) {
  const { t } = useTranslation();
  const { messages, pending, me, unreadAfter } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const firstId = useRef<string | undefined>(undefined);
  const heightBefore = useRef(0);
  const [showJump, setShowJump] = useState(false);

  const hasPending = pending.length > 0;
  const firstUnread = messages.find((m) => m.seq > unreadAfter && m.senderId !== me);
  const unreadNotLoaded = !firstUnread && props.hasMoreBefore && unreadAfter > 0 && (messages[0]?.seq ?? 0) > unreadAfter + 1;

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const prepended = firstId.current !== undefined && messages[0]?.id !== firstId.current && heightBefore.current > 0;
    if (prepended) el.scrollTop += el.scrollHeight - heightBefore.current;
    else if (atBottom.current) el.scrollTop = el.scrollHeight;
    firstId.current = messages[0]?.id;
    heightBefore.current = el.scrollHeight;
    setShowJump(Boolean(firstUnread || unreadNotLoaded) && !isVisible(el, '.unread-divider'));
  }, [messages, hasPending, firstUnread, unreadNotLoaded]);

  function onScroll() {
    const el = scroller.current;
    if (!el) return;
    heightBefore.current = el.scrollHeight;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    if (bottom !== atBottom.current) {
      atBottom.current = bottom;
      props.onAtBottom(bottom);
    }
    if (el.scrollTop < NEAR_TOP_PX && props.hasMoreBefore && !props.loadingOlder) void props.loadOlder();
    if (showJump && isVisible(el, '.unread-divider')) setShowJump(false);
  }

  async function jumpToUnread() {
    // Page back until the first unread message is loaded, then bring it into view.
    for (let i = 0; i < 20 && !scroller.current?.querySelector('.unread-divider') && props.hasMoreBefore; i++) await props.loadOlder();
    requestAnimationFrame(() => scroller.current?.querySelector('.unread-divider')?.scrollIntoView({ block: 'center' }));
    setShowJump(false);
  }

  let lastDay = '';
  return (
    <div className="message-list-wrap">
      {showJump && (
        <button type="button" className="jump" onClick={jumpToUnread} data-testid="jump-unread">
          {t('channel.jumpToUnread')}
        </button>
      )}
      <div ref={scroller} className="message-list" onScroll={onScroll} role="log" aria-label={t('channel.history')} aria-live="polite" tabIndex={0}>
        {props.loadingOlder && <p className="loading">{t('common.loading')}</p>}
        {!props.hasMoreBefore && messages.length > 0 && <p className="start">{t('channel.start')}</p>}
        {messages.map((message) => {
          const day = dayKey(message.createdAt);
          const newDay = day !== lastDay;
          lastDay = day;
          return (
            <Fragment key={message.id}>
              {newDay && (
                <div className="day-divider" role="separator" data-testid="day-divider">
                  <span>{formatDay(message.createdAt)}</span>
                </div>
              )}
              {message === firstUnread && (
                <div className="unread-divider" role="separator">
                  <span>{t('channel.newMessages')}</span>
                </div>
              )}
              <div className="row">
                <MessageItem message={message} me={me} editing={props.editingId === message.id} onThread={props.onThread} onEdit={props.onEdit} />
              </div>
            </Fragment>
          );
        })}
        {pending.map((entry) => (
          <PendingItem key={entry.clientMsgId} entry={entry} />
        ))}
      </div>
    </div>
  );
}

function isVisible(container: HTMLElement, selector: string): boolean {
  const target = container.querySelector(selector);
  if (!target) return false;
  const a = container.getBoundingClientRect();
  const b = target.getBoundingClientRect();
  return b.bottom >= a.top && b.top <= a.bottom;
}
