import type { Message } from '@sotong/protocol';
import type { OutboxEntry } from '@sotong/sdk';
import { Fragment, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { dayKey, formatDay } from '../i18n/format';
import { MessageItem, type MessageActions } from './MessageItem';
import { PendingItem } from './PendingItem';
import type { OlderPage } from './useChannelMessages';

interface Props extends MessageActions {
  messages: readonly Message[];
  pending: readonly OutboxEntry[];
  me: string;
  editingId: string | null;
  /** Messages after this seq (not mine) were unread when the channel was opened. */
  unreadAfter: number;
  hasMoreBefore: boolean;
  loadingOlder: boolean;
  loadOlder: () => Promise<OlderPage>;
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
  const [jumping, setJumping] = useState(false);

  const hasPending = pending.length > 0;
  // The first unread is known only once the message before it is loaded too (or there is none).
  const unreadIndex = messages.findIndex((m) => m.seq > unreadAfter && m.senderId !== me);
  const firstUnread = unreadIndex > 0 || (unreadIndex === 0 && !props.hasMoreBefore) ? messages[unreadIndex] : undefined;
  const unreadNotLoaded = !firstUnread && unreadIndex === 0;

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

  // Rows change height after the first paint (images load, off-screen rows get their real size
  // instead of the estimate): stay pinned to the bottom if that is where the reader was.
  const content = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = scroller.current;
    if (!el || !content.current) return;
    const observer = new ResizeObserver(() => {
      if (atBottom.current) el.scrollTop = el.scrollHeight;
      heightBefore.current = el.scrollHeight;
    });
    observer.observe(content.current);
    return () => observer.disconnect();
  }, []);

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
    let page: OlderPage = { oldestSeq: messages[0]?.seq, hasMore: props.hasMoreBefore };
    for (let i = 0; i < 50 && page.hasMore && (page.oldestSeq ?? 0) > unreadAfter; i++) page = await props.loadOlder();
    setJumping(true);
  }

  // Scroll once the divider is rendered (the pages above may commit after the loop ends).
  useLayoutEffect(() => {
    if (!jumping || !firstUnread) return;
    atBottom.current = false;
    scroller.current?.querySelector('.unread-divider')?.scrollIntoView({ block: 'start' });
    setJumping(false);
    setShowJump(false);
  }, [jumping, firstUnread]);

  let lastDay = '';
  return (
    <div className="message-list-wrap">
      {showJump && (
        <button type="button" className="jump" onClick={jumpToUnread} data-testid="jump-unread">
          {t('channel.jumpToUnread')}
        </button>
      )}
      <div ref={scroller} className="message-list" onScroll={onScroll} role="log" aria-label={t('channel.history')} aria-live="polite" tabIndex={0}>
        <div ref={content}>
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
