import type { MessageRow } from './schema.js';

export interface SearchFilter {
  /** Tokens of the query, grouped into phrases: every phrase must match. */
  phrases: string[][];
  /** Channels the searcher may read; the index never returns anything else. */
  readableChannelIds: readonly string[];
  channelId?: string;
  fromUserId?: string;
  beforeMs?: number;
  afterMs?: number;
  has?: 'file' | 'link';
  /** Continue with messages older than this key (newest first). */
  belowKey?: number;
  limit: number;
}

/**
 * The dialect-specific full-text index over the tokens the service hands it. An index may take
 * what it is given into a pending list first (SQLite does); `query` sees pending entries only
 * after `flushPending` has moved them in.
 */
export interface SearchIndex {
  index(messageKey: number, tokens: readonly string[]): Promise<void>;
  remove(messageKey: number): Promise<void>;
  hasPending(): Promise<boolean>;
  /** Moves up to `max` pending entries into the index; returns how many it moved. */
  flushPending(max: number): Promise<number>;
  /** Matching messages, newest first. */
  query(filter: SearchFilter): Promise<MessageRow[]>;
  /** Rewrites the index so entries removed from it are gone from its storage too, not only marked deleted. */
  compact(): Promise<void>;
}
