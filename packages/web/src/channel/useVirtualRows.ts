import { useCallback, useEffect, useLayoutEffect, useReducer, useRef, useState, type RefObject } from 'react';

const ESTIMATE_PX = 56;
const OVERSCAN_PX = 800;
const NEAR_BOTTOM_PX = 60;

export interface Layout {
  /** Index range [start, end) of the rows to render. */
  start: number;
  end: number;
  offsets: number[];
  total: number;
  /** Ref callback for each rendered row: measures it. */
  measure: (el: HTMLElement | null) => (() => void) | undefined;
  offsetOf(key: string): number | undefined;
  /** Scrolls so the row is at the top of the viewport (with a little room). */
  scrollTo(key: string): void;
  onScroll(): void;
  viewport: { top: number; height: number };
}

/**
 * A windowed list of rows with measured heights: only rows near the viewport are in the DOM,
 * the others are space. Heights start as an estimate and are measured as rows render. What the
 * reader looks at stays put when rows above change (older pages come in, an estimate is
 * corrected, an image loads); at the bottom, the list stays at the bottom.
 */
export function useVirtualRows(
  keys: readonly string[],
  scroller: RefObject<HTMLDivElement | null>,
  onAtBottom: (atBottom: boolean) => void,
  /** Rows that keep their place in the content (messages), as opposed to dividers that move with pages. */
  anchorable: (key: string) => boolean,
): Layout {
  const heights = useRef(new Map<string, number>());
  const [, remeasured] = useReducer((n: number) => n + 1, 0);
  const [viewport, setViewport] = useState({ top: 0, height: 800 });
  const atBottom = useRef(true);
  const anchor = useRef<{ key: string; delta: number } | null>(null);
  const index = useRef(new Map<string, number>());

  const offsets = new Array<number>(keys.length + 1);
  offsets[0] = 0;
  for (let i = 0; i < keys.length; i++) offsets[i + 1] = offsets[i]! + (heights.current.get(keys[i]!) ?? ESTIMATE_PX);
  const total = offsets[keys.length]!;
  index.current = new Map(keys.map((k, i) => [k, i]));
  const offsetOf = (key: string) => {
    const i = index.current.get(key);
    return i === undefined ? undefined : offsets[i];
  };

  let start = 0;
  while (start < keys.length && offsets[start + 1]! < viewport.top - OVERSCAN_PX) start++;
  let end = start;
  while (end < keys.length && offsets[end]! < viewport.top + viewport.height + OVERSCAN_PX) end++;

  const observer = useRef<ResizeObserver | null>(null);
  if (!observer.current && typeof ResizeObserver !== 'undefined') {
    observer.current = new ResizeObserver((entries) => {
      let changed = false;
      for (const entry of entries) {
        const el = entry.target as HTMLElement;
        const key = el.dataset.key;
        if (!key || !el.isConnected) continue;
        const height = el.offsetHeight;
        if (heights.current.get(key) !== height) {
          heights.current.set(key, height);
          changed = true;
        }
      }
      if (changed) remeasured();
    });
  }
  useEffect(() => () => observer.current?.disconnect(), []);

  const measure = useCallback((el: HTMLElement | null) => {
    if (!el || !observer.current) return undefined;
    observer.current.observe(el);
    return () => observer.current?.unobserve(el);
  }, []);

  // After a layout that moved rows (content or viewport size changed): pin to the bottom, or keep
  // the anchor row where the reader saw it. A render caused by scrolling alone moves nothing, so
  // a reader edging up from the bottom is not pulled back.
  const laidOut = useRef({ total: -1, height: -1 });
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const moved = laidOut.current.total !== total || laidOut.current.height !== el.clientHeight;
    laidOut.current = { total, height: el.clientHeight };
    if (moved && atBottom.current) {
      const max = el.scrollHeight - el.clientHeight;
      if (Math.abs(el.scrollTop - max) > 1) el.scrollTop = max;
    } else if (moved && anchor.current) {
      const at = offsetOf(anchor.current.key);
      if (at !== undefined) {
        const wanted = at - anchor.current.delta;
        if (Math.abs(el.scrollTop - wanted) > 1) el.scrollTop = wanted;
      }
    }
    if (el.clientHeight !== viewport.height || Math.abs(el.scrollTop - viewport.top) > 1) setViewport({ top: el.scrollTop, height: el.clientHeight });
  });

  useEffect(() => {
    const el = scroller.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const resize = new ResizeObserver(() => setViewport({ top: el.scrollTop, height: el.clientHeight }));
    resize.observe(el);
    return () => resize.disconnect();
  }, [scroller]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const top = el.scrollTop;
    const bottom = el.scrollHeight - top - el.clientHeight < NEAR_BOTTOM_PX;
    if (bottom !== atBottom.current) {
      atBottom.current = bottom;
      onAtBottom(bottom);
    }
    // The first message whose bottom is below the top edge is what the reader is looking at.
    let i = 0;
    while (i < keys.length - 1 && (offsets[i + 1]! <= top || !anchorable(keys[i]!))) i++;
    anchor.current = keys[i] === undefined ? null : { key: keys[i]!, delta: offsets[i]! - top };
    setViewport({ top, height: el.clientHeight });
  };

  const scrollTo = (key: string) => {
    const el = scroller.current;
    const at = offsetOf(key);
    if (!el || at === undefined) return;
    atBottom.current = false;
    onAtBottom(false);
    anchor.current = { key, delta: Math.min(24, at) };
    el.scrollTop = at - anchor.current.delta;
  };

  return { start, end, offsets, total, measure, offsetOf, scrollTo, onScroll, viewport };
}
