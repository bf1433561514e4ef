import type { ChannelEvent, DirectorySyncResult } from '@sotong/protocol';
import type { BusMessage } from '../bus/bus.js';
import type { PersonRow } from '../store/directory.js';
import type { ChannelRow } from '../store/schema.js';

/** The `source` of what LDAP sync and sign-in write (profiles, departments, groups). */
export const SOURCE = 'ldap';

export type Counts = Omit<DirectorySyncResult, 'trigger' | 'startedAt' | 'finishedAt'>;

/** The tree and groups as this sync left them, and who is who: read-only once people are applied. */
export interface Shared {
  departmentByDn: Map<string, string>;
  groupIdByDn: Map<string, string>;
  groupDnById: Map<string, string>;
  /** null: the manager is left as it is (a sign-in sees one entry, not the whole directory). */
  userIdByDn: Map<string, string> | null;
}

/**
 * What one transaction of a sync works with. Made inside the transaction, so that a transaction
 * the commit queue runs again (see commit-queue.ts) starts from scratch.
 */
export interface Context extends Shared {
  workspaceId: string;
  now: number;
  /** The batch's people, read in one query; others are read one by one. */
  loaded: Map<string, PersonRow>;
  memberships: Map<string, string[]>;
  channels: Map<string, ChannelRow | null>;
  counts: Counts;
  publish: BusMessage[];
  events: ChannelEvent[];
}

export type Resolved = { userId: string; kind: 'existing' | 'link' | 'new' };

export function emptyCounts(): Counts {
  return {
    people: 0,
    added: 0,
    updated: 0,
    deactivated: 0,
    reactivated: 0,
    roleChanges: 0,
    channelJoins: 0,
    channelLeaves: 0,
    departments: { added: 0, updated: 0, removed: 0 },
    groups: 0,
    skipped: [],
    missingChannels: [],
  };
}

/** `cn=Devs,ou=groups,…` → `devs`: the name a mapping may use instead of the DN. */

/** Adds `more` into `total` (and returns it). */
export function mergeCounts(total: Counts, more: Counts): Counts {
  for (const key of ['people', 'added', 'updated', 'deactivated', 'reactivated', 'roleChanges', 'channelJoins', 'channelLeaves', 'groups'] as const) total[key] += more[key];
  for (const key of ['added', 'updated', 'removed'] as const) total.departments[key] += more.departments[key];
  total.skipped.push(...more.skipped);
  for (const name of more.missingChannels) if (!total.missingChannels.includes(name)) total.missingChannels.push(name);
  return total;
}

export function summary(counts: Counts): Record<string, unknown> {
  const { skipped, missingChannels, ...rest } = counts;
  return { ...rest, skipped: skipped.length, missingChannels };
}
