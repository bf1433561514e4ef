import type { Message } from '@sotong/protocol';
import type { OutboxEntry } from '@sotong/sdk';
import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { dayKey, formatDay } from '../i18n/format';
import { MessageItem, type MessageActions } from './MessageItem';
import { PendingItem } from './PendingItem';
import type { OlderPage } from './useChannelMessages';
import { useVirtualRows } from './useVirtualRows';

interface Props extends MessageActions {
  messages: readonly Message[];
  pending: readonly OutboxEntry[];
  me: string;
  editingId: string | null;
  /** Messages after this seq (not mine) were unread when the channel was opened. */
  unreadAfter: number;
  loaded: boolean;
  hasMoreBefore: boolean;
  loadingOlder: boolean;
  loadOlder: () => Promise<OlderPage>;
  onAtBottom: (atBottom: boolean) => void;
}

const NEAR_TOP_PX = 300;
const UNREAD_KEY = 'unread-divider';
/** Rows that are not messages: they move when pages come in, so they never anchor the view. */
const FIXED_KEYS = new Set(['loading', 'start', UNREAD_KEY]);

const GROUP_MS = 5 * 60_000;

const continues = (previous: Message | undefined, message: Message) =>
  previous !== undefined &&
  !previous.deleted &&
  previous.senderId === message.senderId &&
  message.createdAt - previous.createdAt < GROUP_MS &&
  dayKey(previous.createdAt) === dayKey(message.createdAt);

interface Row {
  key: string;
  node: ReactNode;
}

/**
 * The history, oldest at the top, windowed: only the rows near the viewport are rendered
 * (useVirtualRows). Scrolling near the top loads the page before without moving what you read;
 * new messages follow you only when you are at the bottom.
 */
export function MessageList(props: Props) {
  const { t } = useTranslation();
  const { messages, pending, me, unreadAfter } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const [jumping, setJumping] = useState(false);

  // The first unread is known only once the message before it is loaded too (or there is none).
  const unreadIndex = messages.findIndex((m) => m.seq > unreadAfter && m.senderId !== me);
  const firstUnread = unreadIndex > 0 || (unreadIndex === 0 && !props.hasMoreBefore) ? messages[unreadIndex] : undefined;
  const unreadNotLoaded = !firstUnread && unreadIndex === 0;

  const rows: Row[] = [];
  if (props.loadingOlder) rows.push({ key: 'loading', node: <p className="loading">{t('common.loading')}</p> });
  if (props.loaded && !props.hasMoreBefore) rows.push({ key: 'start', node: <p className="start">{t('channel.start')}</p> });
  let lastDay = '';
  let previous: Message | undefined;
  for (const message of messages) {
    const day = dayKey(message.createdAt);
    if (day !== lastDay) {
      rows.push({
        key: `day-${day}`,
        node: (
          <div className="day-divider" role="separator" data-testid="day-divider">
            <span>{formatDay(message.createdAt)}</span>
          </div>
        ),
      });
      lastDay = day;
    }
    if (message === firstUnread) {
      rows.push({
        key: UNREAD_KEY,
        node: (
          <div className="unread-divider" role="separator">
            <span>{t('channel.newMessages')}</span>
          </div>
        ),
      });
    }
    rows.push({
      key: message.id,
      node: (
        <MessageItem
          message={message}
          me={me}
          editing={props.editingId === message.id}
          continued={continues(previous, message) && message !== firstUnread}
          onThread={props.onThread}
          onEdit={props.onEdit}
        />
      ),
    });
    previous = message;
  }
  for (const entry of pending) rows.push({ key: `pending-${entry.clientMsgId}`, node: <PendingItem entry={entry} /> });

  const layout = useVirtualRows(
    rows.map((r) => r.key),
    scroller,
    props.onAtBottom,
    (key) => !FIXED_KEYS.has(key) && !key.startsWith('day-'),
  );

  const dividerAt = layout.offsetOf(UNREAD_KEY);
  const dividerOnScreen = dividerAt !== undefined && dividerAt >= layout.viewport.top - 20 && dividerAt <= layout.viewport.top + layout.viewport.height;
  const [dismissed, setDismissed] = useState(false);
  useEffect(() => {
    if (dividerOnScreen) setDismissed(true);
  }, [dividerOnScreen]);
  const showJump = !dismissed && (firstUnread !== undefined || unreadNotLoaded) && !dividerOnScreen;

  function onScroll() {
    layout.onScroll();
    const el = scroller.current;
    if (el && el.scrollTop < NEAR_TOP_PX && props.hasMoreBefore && !props.loadingOlder) void props.loadOlder();
  }

  async function jumpToUnread() {
    // Page back until the message before the first unread is loaded, then bring the divider into view.
    let page: OlderPage = { oldestSeq: messages[0]?.seq, hasMore: props.hasMoreBefore };
    for (let i = 0; i < 50 && page.hasMore && (page.oldestSeq ?? 0) > unreadAfter; i++) page = await props.loadOlder();
    setJumping(true);
  }

  useLayoutEffect(() => {
    if (!jumping || dividerAt === undefined) return;
    layout.scrollTo(UNREAD_KEY);
    setJumping(false);
    setDismissed(true);
  }, [jumping, dividerAt]);

  return (
    <div className="message-list-wrap">
      {showJump && (
        <button type="button" className="jump" onClick={() => void jumpToUnread()} data-testid="jump-unread">
          {t('channel.jumpToUnread')}
        </button>
      )}
      <div
        ref={scroller}
        className="message-list"
        onScroll={onScroll}
        role="log"
        aria-label={t('channel.history')}
        aria-live="off"
        tabIndex={0}
        data-loaded={messages.length}
      >
        <div className="rows" style={{ height: layout.total }}>
          {rows.slice(layout.start, layout.end).map((row, i) => (
            <div key={row.key} data-key={row.key} ref={layout.measure} className="row" style={{ top: layout.offsets[layout.start + i] }}>
              {row.node}
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
