import type { ReactNode } from 'react';

/** The snippet with the server's [start, end) ranges in <mark>, as text nodes only. */
export function Highlighted({ text, ranges }: { text: string; ranges: ReadonlyArray<readonly [number, number]> }) {
  const out: ReactNode[] = [];
  let last = 0;
  [...ranges].sort((a, b) => a[0] - b[0]).forEach(([start, end], i) => {
    if (start < last) return;
    if (start > last) out.push(text.slice(last, start));
    out.push(<mark key={i}>{text.slice(start, end)}</mark>);
    last = end;
  });
  if (last < text.length) out.push(text.slice(last));
  return <>{out}</>;
}
