import { KeyRejectedError } from './provider.js';
import { open, sealAfter } from './aes-gcm.js';
import { channelScope, type DataKey, type KeyRing } from './key-ring.js';

/** Content encrypted at rest under a channel's data key (see docs/encryption.md for the layout). */
export const SEALED_V1 = 'sealed/v1';
const VERSION = 1;

/** Which row a ciphertext belongs to: it opens only there (the associated data). */
export interface Binding {
  workspaceId: string;
  channelId: string;
  /** `message`, `edit`, `file`, `preview`. */
  kind: string;
  /** The message or file id (and, for an edit, its time). */
  recordId: string;
}

function associatedData(b: Binding, keyId: string): Buffer {
  return Buffer.from(['sotong', SEALED_V1, b.workspaceId, b.channelId, b.kind, b.recordId, keyId].join('\0'));
}

/** The plaintext's first bytes for an inner format: its length and the format (a handful of formats, made once each). */
const innerFormatPrefixes = new Map<string, Buffer>();
function innerFormatPrefix(format: string): Buffer {
  let prefix = innerFormatPrefixes.get(format);
  if (!prefix) {
    const bytes = Buffer.from(format);
    prefix = Buffer.concat([Buffer.from([bytes.length]), bytes]);
    if (innerFormatPrefixes.size < 64) innerFormatPrefixes.set(format, prefix);
  }
  return prefix;
}

/**
 * `sealed/v1` bytes: 0x01 ‖ key-id length (1 byte) ‖ key id (ASCII) ‖ nonce (12) ‖ AES-256-GCM
 * ciphertext ‖ tag (16). The plaintext is the inner format's length (1 byte) ‖ inner format ‖
 * inner content, so a `text/v1` body comes back as `text/v1`.
 */
export async function sealContent(ring: KeyRing, binding: Binding, format: string, content: Uint8Array): Promise<{ format: string; content: Uint8Array }> {
  return sealWith(await ring.sealingKey(binding.workspaceId, binding.channelId), binding, format, content);
}

/** What sealing content as `sealed/v1` takes, to be done here (`sealWith`) or in a worker (crypto-offload.ts). */
export interface SealingJob {
  key: Buffer;
  /** Stored in the clear before the nonce: version and key id. */
  header: Uint8Array;
  /** The plaintext, in parts: inner format prefix, then content. */
  parts: Uint8Array[];
  aad: Uint8Array;
}

export function sealingJob({ id, key }: DataKey, binding: Binding, format: string, content: Uint8Array): SealingJob {
  const header = Buffer.allocUnsafe(2 + id.length);
  header[0] = VERSION;
  header[1] = header.write(id, 2, 'ascii');
  return { key, header, parts: [innerFormatPrefix(format), content], aad: associatedData(binding, id) };
}

/** Sealing with a key at hand: no I/O, so it can run inside a store transaction. */
export function sealWith(dataKey: DataKey, binding: Binding, format: string, content: Uint8Array): { format: string; content: Uint8Array } {
  const job = sealingJob(dataKey, binding, format, content);
  return { format: SEALED_V1, content: sealAfter(job.header, job.key, job.parts, job.aad) };
}

/**
 * The inner format and content; content in any other format passes through unchanged (it was
 * stored before encryption at rest). The workspace comes from the data key, which must belong to
 * the binding's channel.
 */
export async function openContent(ring: KeyRing, binding: Omit<Binding, 'workspaceId'>, format: string, content: Uint8Array): Promise<{ format: string; content: Uint8Array }> {
  // A tombstone keeps the format and drops the content: nothing to open.
  if (format !== SEALED_V1 || content.byteLength === 0) return { format, content };
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  if (bytes.length < 2 || bytes[0] !== VERSION || bytes.length < 2 + bytes[1]!) throw new KeyRejectedError('sealed content is malformed');
  const keyId = bytes.subarray(2, 2 + bytes[1]!).toString('ascii');
  const key = await ring.keyById(keyId);
  if (key.scope !== channelScope(binding.channelId)) throw new KeyRejectedError('sealed content does not open here: its key belongs to another channel');
  const plaintext = open(key.key, bytes.subarray(2 + bytes[1]!), associatedData({ ...binding, workspaceId: key.workspaceId }, keyId));
  if (!plaintext || plaintext.length < 1 || plaintext.length < 1 + plaintext[0]!) throw new KeyRejectedError('sealed content does not open here: tampered with or moved from another row');
  const innerLength = plaintext[0]!;
  return { format: plaintext.subarray(1, 1 + innerLength).toString('utf8'), content: plaintext.subarray(1 + innerLength) };
}
