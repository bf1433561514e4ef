import { createHmac } from 'node:crypto';
import type { KeyRing } from '../keys/key-ring.js';
import type { BlobPlace } from './blob-store.js';

/**
 * How a sealed blob is named: `HMAC-SHA-256(address key, channel id 0 SHA-256 of the plaintext)`,
 * the address key derived from the workspace's index key (wrapped by the CMK). The same bytes
 * in one channel get one name (deduplicated); in two channels two names, two blobs, two keys —
 * so shredding one channel leaves nothing of its files readable through the other. Without the
 * key nobody can test whether a known file is stored. Returns a function to call once the
 * plaintext's hash is known (after streaming), so the key is fetched before.
 */
export async function blobAddresser(ring: KeyRing, place: BlobPlace): Promise<(sha256: string) => string> {
  const { key } = await ring.indexKey(place.workspaceId);
  const addressKey = createHmac('sha256', key).update('sotong blob address').digest();
  return (sha256) => createHmac('sha256', addressKey).update(`${place.channelId}\0${sha256}`).digest('hex');
}
