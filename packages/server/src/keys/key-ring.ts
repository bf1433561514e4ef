import { randomBytes } from 'node:crypto';
import { SotongError } from '@sotong/protocol';
import type { DataKeyRow } from '../store/schema.js';
import type { StoreProvider } from '../store/store.js';
import { KeyProviderUnavailableError, KeyRejectedError, type KeyContext, type KeyProvider } from './provider.js';

export interface KeyRingOptions {
  /** A content key is replaced after this long… */
  lifetimeMs: number;
  /** …or after sealing this many values, whichever comes first. */
  maxUses: number;
  /** Unwrapped keys kept in memory, at most. */
  cacheSize: number;
  /** An unwrapped key is re-checked with the KMS after this long. */
  cacheTtlMs: number;
  /** While the KMS is unreachable, cached keys keep working this long; then everything fails closed. */
  outageGraceMs: number;
  now?: () => number;
}

/** A data key in plaintext, in memory only, with what it belongs to. */
export interface DataKey {
  id: string;
  key: Buffer;
  workspaceId: string;
  scope: string;
}

interface Cached {
  key: Buffer;
  checkedAt: number;
  workspaceId: string;
  scope: string;
}

interface Current {
  row: DataKeyRow;
  key: Buffer;
  uses: number;
  /** Uses counted here but not yet added to the row. */
  unsaved: number;
  /** When it last moved to the recent end of `current`. */
  touchedAt: number;
}

/** Uses are written back to the row in steps of this many (the count is advisory across nodes). */
const USES_FLUSH = 1000;
/** A current key in use moves to the recent end of the LRU order at most this often: a Map re-insert per message is not free. */
const TOUCH_EVERY_MS = 1000;

/** The server-wide key scope blobs were sealed under before they took their channel's key (`SBL1`, still read). */
export const BLOB_SCOPE = 'blobs';
export const channelScope = (channelId: string) => `channel:${channelId}`;
export const workspaceScope = (workspaceId: string) => `workspace:${workspaceId}`;

/**
 * The data keys of every channel and workspace: creates them through the KMS, stores them only
 * wrapped, keeps the unwrapped ones in a bounded cache with a TTL, rolls a channel's key over at
 * the end of its lifetime, and fails closed when the KMS has been gone longer than the grace.
 * Never call it inside a store transaction: it opens its own (and the KMS audit writes one).
 */
export class KeyRing {
  private readonly cache = new Map<string, Cached>();
  private readonly current = new Map<string, Current>();
  private readonly creating = new Map<string, Promise<Current>>();
  /** When the KMS first failed in the current outage; undefined while it answers. */
  private unavailableSince: number | undefined;
  private readonly now: () => number;

  constructor(
    readonly provider: KeyProvider,
    private readonly store: StoreProvider,
    private readonly options: KeyRingOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The key new content of this channel is sealed with, counting one use. */
  async sealingKey(workspaceId: string, channelId: string): Promise<DataKey> {
    return this.use(await this.currentOf(workspaceId, channelScope(channelId), true));
  }

  /** Makes the channel's current key ready in memory (creating or rolling it over if needed), without counting a use. */
  async prepareChannel(workspaceId: string, channelId: string): Promise<void> {
    await this.currentOf(workspaceId, channelScope(channelId), true);
  }

  /**
   * For a new message, with no I/O and no promise: the channel's content key (one use counted) and
   * the workspace's index key, when both are ready; else undefined, and `prepareChannel` and
   * `indexKey` do what is needed.
   */
  readyForMessage(workspaceId: string, channelId: string): { content: DataKey; index: DataKey } | undefined {
    const content = this.ready(channelScope(channelId));
    const index = content && this.ready(workspaceScope(workspaceId));
    if (!content || !index) return undefined;
    return { content: this.use(content), index: { id: index.row.id, key: index.key, workspaceId, scope: index.row.scope } };
  }

  /** Whether `prepareChannel` would find nothing to do: the send path asks this first, with no promise. */
  channelReady(channelId: string): boolean {
    return this.ready(channelScope(channelId)) !== undefined;
  }

  /**
   * The channel's current key without any I/O, for sealing inside a store transaction (where the
   * KMS and a new key's own transaction cannot be waited for): `prepareChannel` must have run just
   * before. Undefined if it did not.
   */
  preparedKey(channelId: string): DataKey | undefined {
    const current = this.current.get(channelScope(channelId));
    return current && this.use(current);
  }

  private use(current: Current): DataKey {
    current.uses++;
    if (++current.unsaved >= USES_FLUSH) this.flushUses(current);
    return { id: current.row.id, key: current.key, workspaceId: current.row.workspace_id, scope: current.row.scope };
  }

  /** The workspace's search index key: one per workspace, never rolled over (the index would have to be rebuilt). */
  async indexKey(workspaceId: string): Promise<DataKey> {
    const current = this.ready(workspaceScope(workspaceId)) ?? (await this.currentOf(workspaceId, workspaceScope(workspaceId), false));
    return { id: current.row.id, key: current.key, workspaceId, scope: current.row.scope };
  }

  /** Any key by id, to open what it sealed: from the cache, or unwrapped by the KMS. */
  async keyById(id: string): Promise<DataKey> {
    this.dropKeysPastGrace();
    const cached = this.cache.get(id);
    if (cached && this.now() - cached.checkedAt < this.options.cacheTtlMs) return { id, ...this.touch(id, cached) };
    const row = await this.store.read.dataKeys.byId(id);
    if (!row) {
      this.cache.delete(id);
      throw new KeyRejectedError('the data key of this content was destroyed', 'key_destroyed');
    }
    try {
      return { id, key: this.remember(row, await this.unwrap(row)), workspaceId: row.workspace_id, scope: row.scope };
    } catch (err) {
      if (err instanceof KeyProviderUnavailableError && cached && this.withinGrace()) return { id, ...cached };
      throw err;
    }
  }

  /** Retires the channel's current key: the next message gets a new one. */
  async rotateScope(scope: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      const newest = await tx.dataKeys.newest(scope);
      if (newest) await tx.dataKeys.retire(newest.id, this.now());
    });
    this.current.delete(scope);
  }

  /** Crypto-shredding: the scope's keys are deleted and forgotten; what they sealed cannot be opened again. */
  async shredScope(scope: string): Promise<number> {
    const destroyed = await this.store.transaction((tx) => tx.dataKeys.destroyScope(scope));
    this.forget((c) => c.scope === scope);
    return destroyed;
  }

  /** After a transaction destroyed the scope's keys itself (`channel.delete`): drops them from memory too. */
  forgetScope(scope: string): void {
    this.forget((c) => c.scope === scope);
  }

  async shredWorkspace(workspaceId: string): Promise<number> {
    const destroyed = await this.store.transaction((tx) => tx.dataKeys.destroyWorkspace(workspaceId));
    this.forget((c) => c.workspaceId === workspaceId);
    return destroyed;
  }

  /**
   * Re-wraps every data key under the provider's current CMK, page by page, without touching any
   * message: online (each key is swapped with a compare-and-set), and resumable (it only picks
   * keys not yet under the current CMK, so running it again continues where it stopped).
   */
  async rewrapAll(onProgress: (done: number, remaining: number) => void = () => {}, pageSize = 200): Promise<{ rewrapped: number; cmkId: string }> {
    const cmkId = await this.provider.currentCmkId();
    const census = await this.store.read.dataKeys.census();
    const remaining = census.total - (census.byCmk[cmkId] ?? 0);
    let done = 0;
    let after = '';
    for (;;) {
      const page = await this.store.read.dataKeys.notUnder(cmkId, after, pageSize);
      if (page.length === 0) break;
      for (const row of page) {
        const moved = await this.provider.rewrap({ cmkId: row.cmk_id, wrapped: Buffer.from(row.wrapped) }, contextOf(row));
        if (await this.store.transaction((tx) => tx.dataKeys.rewrapped(row.id, row.cmk_id, moved.cmkId, moved.wrapped))) done++;
      }
      after = page[page.length - 1]!.id;
      onProgress(done, Math.max(0, remaining - done));
    }
    return { rewrapped: done, cmkId };
  }

  /** Writes the counted uses back and forgets every plaintext key. */
  async close(): Promise<void> {
    await Promise.all([...this.current.values()].filter((c) => c.unsaved > 0).map((c) => this.store.transaction((tx) => tx.dataKeys.addUses(c.row.id, c.unsaved)).catch(() => undefined)));
    this.forget(() => true);
  }

  /** The scope's current key if it is in memory, in its lifetime and checked with the KMS within the TTL. */
  private ready(scope: string): Current | undefined {
    const current = this.current.get(scope);
    if (!current || !this.withinGrace() || this.expired(current)) return undefined;
    const now = this.now();
    if (now - (this.cache.get(current.row.id)?.checkedAt ?? 0) >= this.options.cacheTtlMs) return undefined;
    if (now - current.touchedAt >= TOUCH_EVERY_MS) this.setCurrent(scope, current);
    return current;
  }

  private async currentOf(workspaceId: string, scope: string, expires: boolean): Promise<Current> {
    this.dropKeysPastGrace();
    const ready = this.ready(scope);
    if (ready) return ready;
    let current = this.current.get(scope);
    if (current && !this.expired(current)) {
      // Stale: re-read the row (another process may have retired or shredded it) and re-check with the KMS.
      const row = await this.store.read.dataKeys.byId(current.row.id);
      if (!row) {
        // Shredded: never sealed with again, not even during an outage.
        this.current.delete(scope);
        current = undefined;
      } else {
        current.row = { ...row, uses: current.row.uses };
        if (!this.expired(current)) {
          current.key = (await this.keyById(row.id)).key;
          return current;
        }
      }
    }
    let pending = this.creating.get(scope);
    if (!pending) {
      pending = this.loadOrCreate(workspaceId, scope, expires, current).finally(() => this.creating.delete(scope));
      this.creating.set(scope, pending);
    }
    return pending;
  }

  private expired(c: Current): boolean {
    return c.row.retired_at !== null || (c.row.expires_at !== null && c.row.expires_at <= this.now()) || (c.row.expires_at !== null && c.uses >= this.options.maxUses);
  }

  /** The scope's newest key if still in its lifetime, else a new one (another node may have made it first). */
  private async loadOrCreate(workspaceId: string, scope: string, expires: boolean, old: Current | undefined): Promise<Current> {
    const newest = await this.store.read.dataKeys.newest(scope);
    if (newest) {
      // This node's own count may be ahead of the row's (it is written back in steps).
      const mine = old?.row.id === newest.id ? old : undefined;
      const candidate: Current = { row: newest, key: Buffer.alloc(0), uses: Math.max(newest.uses, mine?.uses ?? 0), unsaved: mine?.unsaved ?? 0, touchedAt: 0 };
      if (!this.expired(candidate)) {
        candidate.key = (await this.keyById(newest.id)).key;
        this.setCurrent(scope, candidate);
        return candidate;
      }
    }
    const version = (newest?.version ?? 0) + 1;
    const id = `dk_${randomBytes(12).toString('hex')}`;
    const now = this.now();
    let generated;
    try {
      generated = await this.provider.generateDataKey(contextOf({ id, workspace_id: workspaceId, scope }));
      this.unavailableSince = undefined;
    } catch (err) {
      if (err instanceof KeyProviderUnavailableError) {
        this.noteUnavailable();
        // An expired key keeps sealing during the grace rather than nothing working.
        if (old && this.withinGrace()) return old;
        if (!this.withinGrace()) throw new KeysUnavailableError(this.options.outageGraceMs);
      }
      throw err;
    }
    const row: DataKeyRow = {
      id,
      workspace_id: workspaceId,
      scope,
      version,
      cmk_id: generated.cmkId,
      wrapped: generated.wrapped,
      created_at: now,
      expires_at: expires ? now + this.options.lifetimeMs : null,
      retired_at: null,
      uses: 0,
    };
    try {
      await this.store.transaction(async (tx) => {
        if (newest) await tx.dataKeys.retire(newest.id, now);
        await tx.dataKeys.insert(row);
      });
    } catch (err) {
      // Another node made this version first: use theirs.
      const winner = await this.store.read.dataKeys.newest(scope);
      if (!winner || winner.version < version) throw err;
      const theirs: Current = { row: winner, key: (await this.keyById(winner.id)).key, uses: winner.uses, unsaved: 0, touchedAt: 0 };
      this.setCurrent(scope, theirs);
      return theirs;
    }
    if (old && old.unsaved > 0) this.flushUses(old);
    const fresh: Current = { row, key: this.remember(row, generated.plaintext), uses: 0, unsaved: 0, touchedAt: 0 };
    this.setCurrent(scope, fresh);
    return fresh;
  }

  /** Current keys are bounded like the cache: the least recently used scope goes first (its uses written back). */
  private setCurrent(scope: string, current: Current): void {
    current.touchedAt = this.now();
    this.current.delete(scope);
    this.current.set(scope, current);
    while (this.current.size > this.options.cacheSize) {
      const [oldest, evicted] = this.current.entries().next().value as [string, Current];
      if (evicted.unsaved > 0) this.flushUses(evicted);
      this.current.delete(oldest);
    }
  }

  private async unwrap(row: DataKeyRow): Promise<Buffer> {
    try {
      const key = await this.provider.decrypt({ cmkId: row.cmk_id, wrapped: Buffer.from(row.wrapped) }, contextOf(row));
      this.unavailableSince = undefined;
      return key;
    } catch (err) {
      if (!(err instanceof KeyProviderUnavailableError)) throw err;
      this.noteUnavailable();
      throw this.withinGrace() ? err : new KeysUnavailableError(this.options.outageGraceMs);
    }
  }

  private noteUnavailable(): void {
    this.unavailableSince ??= this.now();
  }

  private withinGrace(): boolean {
    return this.unavailableSince === undefined || this.now() - this.unavailableSince <= this.options.outageGraceMs;
  }

  /**
   * Past the grace every plaintext key is dropped, so each use goes to the KMS again: refused
   * (fail closed) while it is away, served again as soon as it answers.
   */
  private dropKeysPastGrace(): void {
    if (!this.withinGrace()) this.forget(() => true);
  }

  private remember(row: DataKeyRow, key: Buffer): Buffer {
    const id = row.id;
    this.cache.delete(id);
    this.cache.set(id, { key, checkedAt: this.now(), workspaceId: row.workspace_id, scope: row.scope });
    while (this.cache.size > this.options.cacheSize) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    return key;
  }

  /** Least recently used goes first: a hit moves the entry to the end. */
  private touch(id: string, entry: Cached): Cached {
    this.cache.delete(id);
    this.cache.set(id, entry);
    return entry;
  }

  private forget(which: (key: { workspaceId: string; scope: string }) => boolean): void {
    for (const [scope, c] of this.current) {
      if (which({ workspaceId: c.row.workspace_id, scope })) this.current.delete(scope);
    }
    for (const [id, entry] of this.cache) {
      if (which(entry)) this.cache.delete(id);
    }
  }

  private flushUses(c: Current): void {
    const n = c.unsaved;
    c.unsaved = 0;
    this.store.transaction((tx) => tx.dataKeys.addUses(c.row.id, n)).catch(() => {
      c.unsaved += n;
    });
  }
}

/** What a data key is bound to at the KMS: its own id, its workspace and scope. A wrapped key copied to another row does not unwrap. */
function contextOf(row: Pick<DataKeyRow, 'id' | 'workspace_id' | 'scope'>): KeyContext {
  return { workspace: row.workspace_id, scope: row.scope, key: row.id };
}

/** The KMS has been unreachable for longer than the configured grace: the server fails closed. */
export class KeysUnavailableError extends SotongError {
  constructor(graceMs: number) {
    super('unavailable', `encryption keys are unavailable: the key provider has not answered for longer than ${Math.round(graceMs / 1000)} s`, { reason: 'keys_unavailable' });
  }
}
