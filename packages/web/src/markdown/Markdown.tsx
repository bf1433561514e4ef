import { Fragment, type ReactNode } from 'react';
import { useUserName } from '../session/directory';

/**
 * The message markdown subset, rendered to React elements only: text is always a text node,
 * never HTML, so `<img onerror=…>` in a message shows as those characters. Supported:
 * ```code blocks```, `code`, **bold**, *italic* / _italic_, ~~strike~~, > quotes, [text](url),
 * bare http(s) links, <@userId> mentions and @channel / @here.
 */
export function Markdown({ text }: { text: string }) {
  const name = useUserName();
  return <>{blocks(text, name)}</>;
}

type Name = (userId: string) => string;

const INLINE =
  /(`[^`\n]+`)|(\*\*[^*\n]+?\*\*)|(~~[^~\n]+?~~)|(\*[^*\s][^*\n]*?\*|\b_[^_\s][^_\n]*?_\b)|\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)|(https?:\/\/[^\s<>]*[^\s<>.,;:!?'")\]])|<@([A-Za-z0-9_]{1,64})>|(@(?:channel|all|here)\b)/g;

function safeHref(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function link(href: string, label: ReactNode, key: number): ReactNode {
  const safe = safeHref(href);
  if (!safe) return <Fragment key={key}>{label}</Fragment>;
  return (
    <a key={key} href={safe} target="_blank" rel="noopener noreferrer">
      {label}
    </a>
  );
}

function inline(text: string, name: Name): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  let key = 0;
  for (const m of text.matchAll(INLINE)) {
    const index = m.index ?? 0;
    if (index > last) out.push(text.slice(last, index));
    const [whole, code, bold, strike, italic, linkText, linkUrl, bareUrl, userId, group] = m;
    if (code) out.push(<code key={key++}>{code.slice(1, -1)}</code>);
    else if (bold) out.push(<strong key={key++}>{inline(bold.slice(2, -2), name)}</strong>);
    else if (strike) out.push(<del key={key++}>{inline(strike.slice(2, -2), name)}</del>);
    else if (italic) out.push(<em key={key++}>{inline(italic.slice(1, -1), name)}</em>);
    else if (linkText && linkUrl) out.push(link(linkUrl, linkText, key++));
    else if (bareUrl) out.push(link(bareUrl, bareUrl, key++));
    else if (userId)
      out.push(
        <span key={key++} className="mention" data-user={userId}>
          @{name(userId)}
        </span>,
      );
    else if (group)
      out.push(
        <span key={key++} className="mention group">
          {group}
        </span>,
      );
    else out.push(whole);
    last = index + whole.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function lines(text: string, name: Name): ReactNode[] {
  return text.split('\n').flatMap((line, i) => (i === 0 ? inline(line, name) : [<br key={`br${i}`} />, ...inline(line, name)]));
}

function blocks(text: string, name: Name): ReactNode[] {
  const out: ReactNode[] = [];
  const parts = text.split(/```/);
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i < parts.length - 1) {
      out.push(
        <pre key={`c${i}`}>
          <code>{part.replace(/^[a-z0-9+-]*\n/i, '')}</code>
        </pre>,
      );
      return;
    }
    const chunk = i % 2 === 1 ? `\`\`\`${part}` : part;
    let quote: string[] = [];
    let plain: string[] = [];
    const flush = (k: string) => {
      if (quote.length) out.push(<blockquote key={`q${k}`}>{lines(quote.join('\n'), name)}</blockquote>);
      if (plain.length) out.push(<span key={`p${k}`}>{lines(plain.join('\n'), name)}</span>);
      quote = [];
      plain = [];
    };
    chunk.split('\n').forEach((line, j) => {
      const isQuote = line.startsWith('> ');
      if ((isQuote && plain.length) || (!isQuote && quote.length)) flush(`${i}-${j}`);
      (isQuote ? quote : plain).push(isQuote ? line.slice(2) : line);
    });
    flush(`${i}-end`);
  });
  return out;
}
