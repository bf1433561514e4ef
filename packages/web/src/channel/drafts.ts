/** Unsent text per conversation, for this tab's life (a draft may hold anything: never persisted). */
const drafts = new Map<string, string>();

export const draftKey = (channelId: string, threadRootId?: string) => `${channelId}:${threadRootId ?? ''}`;

export function readDraft(key: string): string {
  return drafts.get(key) ?? '';
}

export function saveDraft(key: string, text: string): void {
  if (text) drafts.set(key, text);
  else drafts.delete(key);
}
