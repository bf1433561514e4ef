import { SotongError } from '@sotong/protocol';

/** `text/v1`: the message text as UTF-8 JSON. The store keeps the bytes and never looks inside. */
export const TEXT_V1 = 'text/v1';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeText(text: string): { format: string; content: Uint8Array } {
  return { format: TEXT_V1, content: encoder.encode(JSON.stringify({ text })) };
}

export function decodeText(format: string, content: Uint8Array): string {
  if (content.byteLength === 0) return '';
  if (format !== TEXT_V1) throw new SotongError('internal', `unknown content format ${format}`);
  return (JSON.parse(decoder.decode(content)) as { text: string }).text;
}

const LINK = /\bhttps?:\/\/\S/i;
const USER_MENTION = /<@([A-Za-z0-9_]{1,64})>/g;
const CHANNEL_MENTION = /(^|[^\w])@(channel|all)\b/i;
const HERE_MENTION = /(^|[^\w])@here\b/i;

export interface TextFacts {
  mentionedUserIds: string[];
  mentionsChannel: boolean;
  mentionsHere: boolean;
  hasLink: boolean;
}

/** What the service derives from text before it is stored opaque: mentions and links. */
export function factsOf(text: string): TextFacts {
  return {
    mentionedUserIds: [...new Set(Array.from(text.matchAll(USER_MENTION), (m) => m[1]!))],
    mentionsChannel: CHANNEL_MENTION.test(text),
    mentionsHere: HERE_MENTION.test(text),
    hasLink: LINK.test(text),
  };
}
