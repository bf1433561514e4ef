import { SotongError } from '@sotong/protocol';
import { BlindIndex } from '../search/blind-index.js';
import { queryPhrases, tokenize } from '../search/tokenize.js';
import type { MessageRow, NewMessage } from '../store/schema.js';
import type { Store, StoreProvider } from '../store/store.js';
import { CryptoOffload } from './crypto-offload.js';
import type { DataKey, KeyRing } from './key-ring.js';
import { openContent, SEALED_V1, sealingJob, sealWith } from './sealed.js';

type MessageStore = Store['messages'];

/**
 * The MessageStore methods that neither write content nor need anything but their rows opened.
 * A method added later is refused while encryption is on until it is listed here or sealed in
 * `messagesLayer`: a new write path must not store plaintext by being overlooked.
 */
const PASSES_THROUGH = new Set([
  'byId',
  'byIds',
  'byClientMsgId',
  'tombstone',
  'liveKeysOfChannel',
  'tombstoneChannel',
  'addReply',
  'removeReply',
  'setPinned',
  'pinned',
  'page',
  'replies',
  'reactionsOf',
  'hasReaction',
  'addReaction',
  'removeReaction',
  'mentionsOf',
  'replaceMentions',
]);

/** A message version is bound to its id and its time (created, or edited), so versions cannot be swapped either. */
const versionId = (messageId: string, at: number | string) => `${messageId}@${Number(at)}`;

/** A new message as its transaction will store it: the tokens to index, and its content as stored. */
export interface PreparedMessage {
  tokens: string[];
  content_format: string;
  content: Uint8Array;
}

function isSealedRow(value: unknown): value is MessageRow {
  const row = value as MessageRow | null;
  return typeof row === 'object' && row !== null && row.content_format === SEALED_V1 && typeof row.channel_id === 'string' && row.content.byteLength > 0;
}

/**
 * Encryption at rest as a layer around the store (DESIGN.md: cross-cutting concerns wrap the
 * store): message content and edit history are sealed on the way in and opened on the way out,
 * so the services above read and write plain `text/v1` as before. Sealing happens inside the
 * write transaction and so needs the channel's key at hand: `prepare` gets it first, outside.
 * The search index gets keyed tokens from `prepare` and `queryPhrases` (blind index).
 *
 * Off (`SOTONG_AT_REST=false`) it seals nothing but still opens what was sealed while it was on.
 */
export class AtRest {
  /** Channel → workspace, which never changes: saves a read per message. */
  private readonly workspaceOf = new Map<string, string>();
  /**
   * One blind index (and its token cache) per index key for queries, for as long as the key ring
   * holds that key in memory: a shredded or evicted key takes its cache with it. (A document's
   * tokens are made on the crypto worker.)
   */
  private readonly indexes = new WeakMap<Buffer, BlindIndex>();
  private readonly offload = new CryptoOffload();

  constructor(
    readonly ring: KeyRing,
    private readonly store: StoreProvider,
    readonly enabled: boolean,
  ) {}

  /**
   * Outside any transaction, before writing a message to a channel of the actor's workspace:
   * makes the channel's content key and the workspace's index key ready, and returns the tokens
   * to index for `text`.
   */
  async prepare(workspaceId: string, channelId: string, text: string): Promise<string[]> {
    if (!this.enabled) return tokenize(text);
    await this.ready(workspaceId, channelId);
    const indexKey = await this.ring.indexKey(workspaceId);
    return this.offload.documentTokens(indexKey.id, indexKey.key, text);
  }

  /**
   * `prepare` for a new message, sealing its content too, so that its transaction has only to
   * store it. Both happen on the crypto worker, off the event loop. The id and time are the
   * row's: they are bound into the ciphertext.
   */
  async prepareMessage(
    workspaceId: string,
    channelId: string,
    message: { id: string; createdAt: number; text: string; format: string; content: Uint8Array },
  ): Promise<PreparedMessage> {
    if (!this.enabled) return { tokens: tokenize(message.text), content_format: message.format, content: message.content };
    const { content: key, index: indexKey } = (this.workspaceOf.get(channelId) === workspaceId && this.ring.readyForMessage(workspaceId, channelId)) || (await this.keysFor(workspaceId, channelId));
    const binding = { workspaceId: key.workspaceId, channelId, kind: 'message', recordId: versionId(message.id, message.createdAt) };
    const [tokens, sealed] = await Promise.all([
      this.offload.documentTokens(indexKey.id, indexKey.key, message.text),
      this.offload.seal(sealingJob(key, binding, message.format, message.content)),
    ]);
    return { tokens, content_format: SEALED_V1, content: sealed };
  }

  /** Stops the crypto worker; what is still queued there is refused. */
  close(): Promise<void> {
    return this.offload.close();
  }

  /** `readyForMessage` when a key had to be made or loaded first (or the KMS is away, within its grace). */
  private async keysFor(workspaceId: string, channelId: string): Promise<{ content: DataKey; index: DataKey }> {
    await this.ready(workspaceId, channelId);
    const index = await this.ring.indexKey(workspaceId);
    const content = this.ring.preparedKey(channelId);
    if (!content) throw new SotongError('internal', `the content key of channel ${channelId} was not ready`, { reason: 'key_not_prepared' });
    return { content, index };
  }

  /** The channel's content key and the workspace's index key in memory; the channel checked to be the workspace's. */
  private async ready(workspaceId: string, channelId: string): Promise<void> {
    // No key is made for a channel that does not exist, or is another workspace's.
    if (this.workspaceOf.get(channelId) !== workspaceId) {
      const channel = await this.store.read.channels.byId(channelId);
      if (!channel || channel.workspace_id !== workspaceId) throw new SotongError('not_found', 'no such channel');
      if (this.workspaceOf.size >= 100_000) this.workspaceOf.clear();
      this.workspaceOf.set(channelId, workspaceId);
    }
    if (!this.ring.channelReady(channelId)) await this.ring.prepareChannel(workspaceId, channelId);
  }

  /** A search query as the index holds it: keyed tokens when on. */
  async queryPhrases(workspaceId: string, query: string): Promise<string[][]> {
    if (!this.enabled) return queryPhrases(query);
    return (await this.blindIndex(workspaceId)).queryPhrases(query);
  }

  private async blindIndex(workspaceId: string): Promise<BlindIndex> {
    const { key } = await this.ring.indexKey(workspaceId);
    let index = this.indexes.get(key);
    if (!index) {
      index = new BlindIndex(key);
      this.indexes.set(key, index);
    }
    return index;
  }

  wrap(provider: StoreProvider): StoreProvider {
    return {
      dialect: provider.dialect,
      read: this.layer(provider.read),
      transaction: (work) => provider.transaction((tx) => work(this.layer(tx))),
      synced: () => provider.synced(),
      ping: () => provider.ping(),
      close: () => provider.close(),
    };
  }

  private layer(store: Store): Store {
    return { ...store, messages: this.messagesLayer(store.messages), search: this.opening(store.search) };
  }

  private messagesLayer(messages: MessageStore): MessageStore {
    const channelOf = async (messageId: string) => {
      const row = await messages.byId(messageId);
      if (!row) throw new SotongError('not_found', 'no such message');
      return row.channel_id;
    };
    const overrides: Partial<MessageStore> = {
      insert: (row: NewMessage) => messages.insert({ ...row, ...this.seal(row.channel_id, versionId(row.id, row.created_at), row.content_format, row.content) }),
      replaceContent: async (id, format, content, editedAt, hasLink, mentionsChannel) => {
        const sealed = this.seal(await channelOf(id), versionId(id, editedAt), format, content);
        return messages.replaceContent(id, sealed.content_format, sealed.content, editedAt, hasLink, mentionsChannel);
      },
      recordEdit: async (messageId, editedAt, format, content) => {
        const sealed = this.seal(await channelOf(messageId), versionId(messageId, editedAt), format, content);
        return messages.recordEdit(messageId, editedAt, sealed.content_format, sealed.content);
      },
      edits: async (messageId) => {
        const rows = await messages.edits(messageId);
        if (!rows.some((r) => r.content_format === SEALED_V1)) return rows;
        const channelId = await channelOf(messageId);
        return Promise.all(
          rows.map(async (r) => {
            const opened = await openContent(this.ring, { channelId, kind: 'message', recordId: versionId(messageId, r.edited_at) }, r.content_format, r.content);
            return { ...r, content_format: opened.format, content: opened.content };
          }),
        );
      },
    };
    const opening = this.opening(messages);
    return new Proxy(messages, {
      get: (target, prop, receiver) => {
        if (prop in overrides) return overrides[prop as keyof MessageStore];
        const value = Reflect.get(opening, prop, receiver) as unknown;
        if (this.enabled && typeof value === 'function' && typeof prop === 'string' && !PASSES_THROUGH.has(prop)) {
          return () => {
            throw new SotongError('internal', `messages.${prop} is not known to the encryption-at-rest layer (keys/at-rest.ts)`, { reason: 'unsealed_write_path' });
          };
        }
        return value;
      },
    });
  }

  /** `target` with every message row its methods return opened. */
  private opening<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (t, prop, receiver) => {
        const value = Reflect.get(t, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(t, args);
          return result instanceof Promise ? result.then((r) => this.openResult(r)) : result;
        };
      },
    });
  }

  private async openResult(result: unknown): Promise<unknown> {
    if (Array.isArray(result)) return result.some(isSealedRow) ? Promise.all(result.map((r) => this.openRow(r))) : result;
    return isSealedRow(result) ? this.openRow(result) : result;
  }

  private async openRow<R>(row: R): Promise<R> {
    if (!isSealedRow(row)) return row;
    const opened = await openContent(this.ring, { channelId: row.channel_id, kind: 'message', recordId: versionId(row.id, row.edited_at ?? row.created_at) }, row.content_format, row.content);
    return { ...row, content_format: opened.format, content: opened.content };
  }

  /** Sealed under the channel's prepared key, inside the transaction; never stored in plaintext when on. */
  private seal(channelId: string, recordId: string, format: string, content: Uint8Array): { content_format: string; content: Uint8Array } {
    if (!this.enabled || format === SEALED_V1) return { content_format: format, content };
    const key = this.ring.preparedKey(channelId);
    if (!key) throw new SotongError('internal', `the content key of channel ${channelId} was not prepared before the write`, { reason: 'key_not_prepared' });
    const sealed = sealWith(key, { workspaceId: key.workspaceId, channelId, kind: 'message', recordId }, format, content);
    return { content_format: sealed.format, content: sealed.content };
  }
}
