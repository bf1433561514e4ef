import { SotongError, type ParsedArgs, type SearchHit } from '@sotong/protocol';
import { highlightTerms, normalize, queryPhrases } from '../search/tokenize.js';
import type { SearchFilter } from '../store/search.js';
import type { ChannelService } from './channels.js';
import type { ServiceDeps } from './context.js';
import type { SearchIndexer } from './search-indexer.js';
import type { Actor } from './permissions.js';
import { hydrateMessages } from './views.js';

const SNIPPET_CONTEXT = 60;

/** Modifiers inside the query text, as Slack and Mattermost users type them. */
interface Modifiers {
  text: string;
  inChannel?: string;
  from?: string;
  before?: string;
  after?: string;
  has?: 'file' | 'link';
}

export function parseModifiers(query: string): Modifiers {
  const out: Modifiers = { text: '' };
  const words: string[] = [];
  for (const token of query.match(/"[^"]*"|\S+/gu) ?? []) {
    const m = /^(in|from|before|after|has):(.+)$/iu.exec(token);
    if (!m) {
      words.push(token);
      continue;
    }
    const key = m[1]!.toLowerCase();
    const value = m[2]!;
    if (key === 'in') out.inChannel = value.replace(/^#/, '');
    else if (key === 'from') out.from = value.replace(/^@/, '');
    else if (key === 'before') out.before = value;
    else if (key === 'after') out.after = value;
    else if (value === 'file' || value === 'link') out.has = value;
    else throw new SotongError('bad_request', `has: takes file or link, not ${value}`);
  }
  out.text = words.join(' ');
  return out;
}

function parseDate(value: string, name: string): number {
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw new SotongError('bad_request', `${name}: not a date (use YYYY-MM-DD): ${value}`);
  return ms;
}

/** The first match's neighbourhood, with every match inside it marked. */
export function snippetOf(text: string, terms: string[]): { snippet: string; highlights: [number, number][] } {
  const folded = normalize(text);
  // Lower-casing can change length in rare scripts; fall back to no highlights then.
  const sameLength = folded.length === text.length;
  const matches: [number, number][] = [];
  if (sameLength) {
    for (const term of terms) {
      for (let at = folded.indexOf(term); at !== -1 && term.length > 0; at = folded.indexOf(term, at + term.length)) {
        matches.push([at, at + term.length]);
      }
    }
  }
  matches.sort((a, b) => a[0] - b[0]);
  const first = matches[0]?.[0] ?? 0;
  const start = Math.max(0, first - SNIPPET_CONTEXT);
  const end = Math.min(text.length, first + SNIPPET_CONTEXT * 2);
  const highlights = matches.filter(([s, e]) => s >= start && e <= end).map(([s, e]) => [s - start, e - start] as [number, number]);
  return { snippet: text.slice(start, end), highlights };
}

export class SearchService {
  constructor(
    private readonly deps: ServiceDeps,
    private readonly channels: ChannelService,
    private readonly indexer: SearchIndexer,
  ) {}

  async search(actor: Actor, args: ParsedArgs<'search'>): Promise<{ hits: SearchHit[]; nextCursor: string | null }> {
    const store = this.deps.store.read;
    const mods = parseModifiers(args.query);
    const phrases = queryPhrases(mods.text);
    if (phrases.length === 0) throw new SotongError('bad_request', 'the query has no words to search for');
    await this.indexer.flush();

    const readable = await this.channels.readableChannelIds(actor);
    const filter: SearchFilter = { phrases, readableChannelIds: readable, limit: args.limit + 1 };
    const channelId = args.channelId ?? (mods.inChannel ? await this.channelByName(actor, mods.inChannel) : undefined);
    if (channelId) filter.channelId = channelId;
    const from = args.fromUserId ?? (mods.from ? await this.userByHandle(actor, mods.from) : undefined);
    if (from) filter.fromUserId = from;
    const before = args.before ?? mods.before;
    if (before) filter.beforeMs = parseDate(before, 'before');
    const after = args.after ?? mods.after;
    if (after) filter.afterMs = parseDate(after, 'after');
    const has = args.has ?? mods.has;
    if (has) filter.has = has;
    if (args.cursor) {
      const key = Number(args.cursor);
      if (!Number.isSafeInteger(key)) throw new SotongError('bad_request', 'cursor: not one this server gave out');
      filter.belowKey = key;
    }

    const rows = await store.search.query(filter);
    const page = rows.slice(0, args.limit);
    const messages = await hydrateMessages(store, page);
    const names = new Map<string, string>();
    for (const id of new Set(page.map((r) => r.channel_id))) names.set(id, (await store.channels.byId(id))?.name ?? '');
    const terms = highlightTerms(mods.text);
    const hits = messages.map((message) => ({ message, channelName: names.get(message.channelId) ?? '', ...snippetOf(message.text, terms) }));
    const last = page[page.length - 1];
    return { hits, nextCursor: rows.length > args.limit && last ? String(last.pk) : null };
  }

  private async channelByName(actor: Actor, name: string): Promise<string> {
    const channel = await this.deps.store.read.channels.byName(actor.workspaceId, name);
    if (!channel) throw new SotongError('not_found', `no channel named ${name}`);
    return channel.id;
  }

  private async userByHandle(actor: Actor, handle: string): Promise<string> {
    const store = this.deps.store.read;
    const user = handle.includes('@') ? await store.users.byEmail(handle) : await store.users.byId(handle);
    if (!user || !(await store.users.workspaceRole(actor.workspaceId, user.id))) throw new SotongError('not_found', `no user ${handle}`);
    return user.id;
  }
}
