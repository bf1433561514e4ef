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

/** The dialect-specific full-text index over the tokens the service hands it. */
export interface SearchIndex {
  index(messageKey: number, tokens: readonly string[]): Promise<void>;
  remove(messageKey: number): Promise<void>;
  /** Matching messages, newest first. */
  query(filter: SearchFilter): Promise<MessageRow[]>;
}
