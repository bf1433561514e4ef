import type { ByteRange } from '../blobs/blob-store.js';

/**
 * One `Range: bytes=…` against a body of `size` bytes (RFC 9110 §14): the range to send, `null`
 * when it cannot be satisfied (answer 416), or `undefined` to send the whole body — no header,
 * another unit, or several ranges (which a server may ignore; players ask for one).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return undefined;
  const spec = m[1]!.trim();
  if (spec.includes(',')) return undefined;
  const parts = /^(\d*)-(\d*)$/.exec(spec);
  if (!parts || (parts[1] === '' && parts[2] === '') || size === 0) return null;
  if (parts[1] === '') {
    const suffix = Number(parts[2]);
    return suffix === 0 ? null : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(parts[1]);
  const end = parts[2] === '' ? size - 1 : Math.min(Number(parts[2]), size - 1);
  return start >= size || start > end ? null : { start, end };
}
