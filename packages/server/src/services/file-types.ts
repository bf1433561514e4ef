import { SotongError } from '@sotong/protocol';
import { fileTypeFromBuffer } from 'file-type';

/** How many leading bytes `file-type` needs to recognise every format it knows. */
export const SNIFF_BYTES = 4100;

/** What the bytes are, whatever the name says; unknown bytes are plain `application/octet-stream`. */
export async function detectMime(head: Uint8Array): Promise<string> {
  return (await fileTypeFromBuffer(head))?.mime ?? 'application/octet-stream';
}

export interface TypePolicy {
  /** Empty: every type that is not blocked. */
  allowed: readonly string[];
  blocked: readonly string[];
}

const matches = (mime: string, pattern: string) => pattern === mime || (pattern.endsWith('/*') && mime.startsWith(pattern.slice(0, -1)));

export function assertTypeAllowed(mime: string, policy: TypePolicy): void {
  const allowed = policy.allowed.length === 0 || policy.allowed.some((p) => matches(mime, p));
  if (!allowed || policy.blocked.some((p) => matches(mime, p))) {
    throw new SotongError('forbidden', `files of type ${mime} are not allowed here`, { mime });
  }
}

/**
 * Types a browser may show inline from our origin: passive media only. Everything else — HTML,
 * SVG, XML, scripts, unknown bytes — is sent as an attachment, so it never runs as our page.
 */
const INLINE = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'video/mp4',
  'video/webm',
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'audio/mp4',
  'application/pdf',
]);

export const servedInline = (mime: string) => INLINE.has(mime);
