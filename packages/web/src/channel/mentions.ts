import type { User } from '@sotong/protocol';

/** The `@word` being typed just before the caret, if any. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | undefined {
  const match = /(^|\s)@([^\s@<>]{0,40})$/u.exec(text.slice(0, caret));
  if (!match) return undefined;
  return { start: caret - match[2]!.length - 1, query: match[2]! };
}

export function mentionCandidates(users: Iterable<User>, query: string, limit = 8): User[] {
  const q = query.toLocaleLowerCase();
  const out: User[] = [];
  for (const user of users) {
    if (user.deactivated) continue;
    if (user.displayName.toLocaleLowerCase().includes(q) || user.email.toLocaleLowerCase().startsWith(q)) out.push(user);
    if (out.length >= limit) break;
  }
  return out;
}

/** The wire form of a mention is `<@userId>`; the composer shows `@Display Name` until sending. */
export function encodeMentions(text: string, chosen: ReadonlyMap<string, string>): string {
  let out = text;
  // Longest names first, so "@Kim Minji" wins over "@Kim".
  for (const [name, id] of [...chosen].sort((a, b) => b[0].length - a[0].length)) out = out.split(`@${name}`).join(`<@${id}>`);
  return out;
}
