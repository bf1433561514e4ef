/**
 * 128 random bits as hex. Uses getRandomValues, not randomUUID: browsers offer randomUUID only
 * in secure contexts.
 */
export function randomId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
