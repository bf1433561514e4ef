import { SotongError, type ChannelEvent, type DirectorySyncResult, type WorkspaceRole } from '@sotong/protocol';
import type { BusMessage } from '../bus/bus.js';
import { normalizeDn, parentDn } from '../directory/attributes.js';
import type { DirectoryPerson, DirectorySnapshot, LdapDirectory } from '../directory/ldap.js';
import { newId } from '../ids.js';
import type { PersonRow } from '../store/directory.js';
import type { ChannelRow, ProfileRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { AccountService } from './accounts.js';
import { appendEvent, published } from './channels.js';
import type { ServiceDeps } from './context.js';

export const SOURCE = 'ldap';
/** A sync that has not finished after this long is assumed dead; another may start. */
const LEASE_MS = 10 * 60_000;
/** People per transaction: other writes (messages) get their turn between batches. */
const BATCH = 100;

type MappedRole = Exclude<WorkspaceRole, 'owner'>;
const RANK: Record<MappedRole, number> = { guest: 0, member: 1, admin: 2 };

export interface DirectoryMappings {
  /** Group name (cn) or DN → role; keys compare lower-cased. */
  groupRoles: Record<string, MappedRole>;
  groupChannels: Record<string, string[]>;
  defaultRole: MappedRole;
}

type Counts = Omit<DirectorySyncResult, 'trigger' | 'startedAt' | 'finishedAt'>;

/** The tree and groups as this sync left them, and who is who: read-only once people are applied. */
interface Shared {
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
interface Context extends Shared {
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

type Resolved = { userId: string; kind: 'existing' | 'link' | 'new' };

function emptyCounts(): Counts {
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
function groupKeys(dn: string): string[] {
  const norm = normalizeDn(dn);
  const first = norm.split(',')[0] ?? '';
  return [norm, first.slice(first.indexOf('=') + 1)];
}

/**
 * Brings the directory into the store: OUs become the department tree, groups are recorded,
 * people are added, updated, deactivated when they leave or are disabled (their sessions end at
 * once, as with an admin's deactivation) and reactivated when they come back; group mappings set
 * workspace roles and channel memberships. All of one sync is one transaction, with an audit entry
 * for every change.
 */
export class DirectorySync {
  private readonly roleKeys: Map<string, MappedRole>;
  private readonly channelKeys: Map<string, string[]>;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly accounts: AccountService,
    private readonly directory: LdapDirectory,
    private readonly mappings: DirectoryMappings,
  ) {
    this.roleKeys = new Map(Object.entries(mappings.groupRoles).map(([k, v]) => [normalizeDn(k), v]));
    this.channelKeys = new Map(Object.entries(mappings.groupChannels).map(([k, v]) => [normalizeDn(k), v]));
  }

  async run(workspaceId: string, trigger: DirectorySyncResult['trigger'], actorId: string | null): Promise<DirectorySyncResult> {
    const startedAt = this.deps.now();
    const leased = await this.deps.queue.run(async (tx) => ({ result: await tx.directory.takeSyncLease(workspaceId, SOURCE, startedAt, startedAt + LEASE_MS) }));
    if (!leased) throw new SotongError('conflict', 'a directory sync is already running');
    try {
      const snapshot = await this.directory.snapshot();
      const counts = emptyCounts();
      counts.people = snapshot.people.length;
      const shared = await this.step(counts, async (tx) => {
        const ctx = await this.context(tx, workspaceId, await this.shared(tx, workspaceId));
        // A wrong base DN or filter returns nobody: that must not deactivate everyone.
        if (snapshot.people.length === 0 && (await tx.directory.sourceProfiles(workspaceId, SOURCE)).some((p) => p.deactivated_at === null)) {
          throw new SotongError('unavailable', 'the directory returned no people; nothing was changed (check SOTONG_LDAP_USER_BASE and the user filter)');
        }
        await this.syncDepartments(tx, ctx, snapshot);
        await this.syncGroups(tx, ctx, snapshot);
        const result: Shared = { departmentByDn: ctx.departmentByDn, groupIdByDn: ctx.groupIdByDn, groupDnById: ctx.groupDnById, userIdByDn: new Map() };
        return { ctx, result };
      });

      // Who is who, before anything is written: a person's manager may come later in the list.
      const resolved: [DirectoryPerson, Resolved][] = [];
      const synced = new Map((await this.deps.store.read.directory.sourceProfiles(workspaceId, SOURCE)).map((p) => [p.external_id, p.user_id]));
      for (const person of snapshot.people) {
        const userId = synced.get(person.externalId);
        const r = userId ? ({ userId, kind: 'existing' } as const) : await this.resolve(this.deps.store.read, counts, person);
        if (!r) continue;
        resolved.push([person, r]);
        shared.userIdByDn!.set(normalizeDn(person.dn), r.userId);
      }

      const seen = new Set<string>();
      for (let i = 0; i < resolved.length; i += BATCH) {
        const batch = resolved.slice(i, i + BATCH);
        const applied = await this.step(counts, async (tx) => {
          const ctx = await this.context(tx, workspaceId, shared, batch.map(([, r]) => r.userId));
          const ids: string[] = [];
          for (const [person, r] of batch) {
            const userId = await this.applyPerson(tx, ctx, person, r);
            if (userId) ids.push(userId);
          }
          return { ctx, result: ids };
        });
        for (const id of applied) seen.add(id);
      }

      await this.step(counts, async (tx) => {
        const ctx = await this.context(tx, workspaceId, shared);
        for (const profile of await tx.directory.sourceProfiles(workspaceId, SOURCE)) {
          if (seen.has(profile.user_id) || profile.deactivated_at !== null) continue;
          await this.deactivate(tx, ctx, profile, 'removed');
        }
        const all = mergeCounts(structuredClone(counts), ctx.counts);
        await this.accounts.audit(tx, { workspaceId, actorId, action: 'directory.synced', details: { trigger, ...summary(all) } });
        return { ctx, result: undefined };
      });
      const result: DirectorySyncResult = { trigger, startedAt, finishedAt: this.deps.now(), ...counts };
      await this.finish(workspaceId, result);
      return result;
    } catch (err) {
      const reason = err instanceof SotongError ? err.message : 'internal error';
      await this.deps.queue.run(async (tx) => {
        await this.accounts.audit(tx, { workspaceId, actorId, action: 'directory.sync_failed', details: { trigger, reason } });
        await tx.directory.finishSync(workspaceId, SOURCE, this.deps.now(), JSON.stringify({ trigger, startedAt, error: reason }));
        return { result: undefined };
      });
      throw err;
    }
  }

  /** One transaction of a sync: its changes are published after commit, its counts added to the total. */
  private async step<T>(total: Counts, work: (tx: Store) => Promise<{ ctx: Context; result: T }>): Promise<T> {
    const { result, counts } = await this.deps.queue.run(async (tx) => {
      const done = await work(tx);
      return { result: { result: done.result, counts: done.ctx.counts }, publish: [...done.ctx.publish, ...published(done.ctx.events)] };
    });
    mergeCounts(total, counts);
    return result;
  }

  /**
   * Brings one person in (or up to date) at sign-in, inside the caller's transaction: a person the
   * directory knows may sign in before the first sync. Returns the user id, or null if skipped.
   */
  async applyOne(tx: Store, workspaceId: string, person: DirectoryPerson): Promise<{ userId: string | null; publish: BusMessage[] }> {
    const ctx = await this.context(tx, workspaceId, { ...(await this.shared(tx, workspaceId)), userIdByDn: null });
    const r = await this.resolve(tx, ctx.counts, person);
    const userId = r ? await this.applyPerson(tx, ctx, person, r) : null;
    return { userId, publish: [...ctx.publish, ...published(ctx.events)] };
  }

  private async finish(workspaceId: string, result: DirectorySyncResult): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      await tx.directory.finishSync(workspaceId, SOURCE, result.finishedAt, JSON.stringify(result));
      return { result: undefined };
    });
  }

  /** The department tree and groups as the store has them. */
  private async shared(store: Store, workspaceId: string): Promise<Shared> {
    const departments = (await store.directory.departments(workspaceId)).filter((d) => d.source === SOURCE && d.external_id !== null);
    const groups = await store.directory.groups(workspaceId, SOURCE);
    return {
      departmentByDn: new Map(departments.map((d) => [d.external_id!, d.id])),
      groupIdByDn: new Map(groups.map((g) => [g.external_id, g.id])),
      groupDnById: new Map(groups.map((g) => [g.id, g.external_id])),
      userIdByDn: new Map(),
    };
  }

  private async context(tx: Store, workspaceId: string, shared: Shared, userIds: string[] = []): Promise<Context> {
    const [loaded, memberships] = await Promise.all([tx.directory.peopleByIds(workspaceId, userIds), tx.directory.groupMemberships(userIds)]);
    return {
      ...shared,
      // Copies: a transaction that runs again must not see what its first run changed.
      departmentByDn: new Map(shared.departmentByDn),
      groupIdByDn: new Map(shared.groupIdByDn),
      groupDnById: new Map(shared.groupDnById),
      workspaceId,
      now: this.deps.now(),
      loaded: new Map(loaded.map((p) => [p.id, p])),
      memberships,
      channels: new Map(),
      counts: emptyCounts(),
      publish: [],
      events: [],
    };
  }

  private async syncDepartments(tx: Store, ctx: Context, snapshot: DirectorySnapshot): Promise<void> {
    const existing = new Map((await tx.directory.departments(ctx.workspaceId)).filter((d) => d.source === SOURCE).map((d) => [d.external_id!, d]));
    // Parents before children: fewer RDNs first.
    const units = [...snapshot.units].sort((a, b) => a.dn.split(/(?<!\\),/).length - b.dn.split(/(?<!\\),/).length);
    const seen = new Set<string>();
    for (const unit of units) {
      const dn = normalizeDn(unit.dn);
      seen.add(dn);
      const parentId = unit.parentDn ? (ctx.departmentByDn.get(normalizeDn(unit.parentDn)) ?? null) : null;
      const row = existing.get(dn);
      if (!row) {
        const id = newId('dp', ctx.now);
        await tx.directory.insertDepartment({ id, workspace_id: ctx.workspaceId, parent_id: parentId, name: unit.name, source: SOURCE, external_id: dn, created_at: ctx.now });
        ctx.departmentByDn.set(dn, id);
        ctx.counts.departments.added++;
        await this.audit(tx, ctx, 'directory.department_added', id, { name: unit.name, dn: unit.dn });
      } else if (row.name !== unit.name || row.parent_id !== parentId) {
        await tx.directory.updateDepartment(row.id, { name: unit.name, parent_id: parentId });
        ctx.counts.departments.updated++;
        await this.audit(tx, ctx, 'directory.department_updated', row.id, { name: unit.name, dn: unit.dn });
      }
    }
    const gone = [...existing.values()].filter((d) => !seen.has(d.external_id!));
    await tx.directory.deleteDepartments(gone.map((d) => d.id));
    for (const d of gone) {
      ctx.departmentByDn.delete(d.external_id!);
      ctx.counts.departments.removed++;
      await this.audit(tx, ctx, 'directory.department_removed', d.id, { name: d.name });
    }
  }

  private async syncGroups(tx: Store, ctx: Context, snapshot: DirectorySnapshot): Promise<void> {
    const seen = new Set<string>();
    for (const group of snapshot.groups) {
      const dn = normalizeDn(group.dn);
      seen.add(dn);
      const id = ctx.groupIdByDn.get(dn) ?? newId('g', ctx.now);
      await tx.directory.upsertGroup({ id, workspace_id: ctx.workspaceId, source: SOURCE, external_id: dn, name: group.name });
      ctx.groupIdByDn.set(dn, id);
      ctx.groupDnById.set(id, dn);
    }
    const gone = [...ctx.groupIdByDn].filter(([dn]) => !seen.has(dn)).map(([, id]) => id);
    await tx.directory.deleteGroups(gone);
    ctx.counts.groups = snapshot.groups.length;
  }

  /** Which account the entry is: the one synced from it before, a local one with its email (linked), or a new one. */
  private async resolve(store: Store, counts: Counts, person: DirectoryPerson): Promise<Resolved | null> {
    const synced = await store.directory.userByExternalId(SOURCE, person.externalId);
    if (synced) return { userId: synced, kind: 'existing' };
    const skip = (reason: string) => (counts.skipped.push({ dn: person.dn, reason }), null);
    if (!person.email) return skip('no email');
    const local = await store.users.byEmail(person.email);
    if (local) {
      const profile = await store.directory.profile(local.id);
      if (profile?.source && profile.source !== SOURCE) return skip(`the email belongs to an account from ${profile.source}`);
      return { userId: local.id, kind: 'link' };
    }
    if (person.disabled) return skip('disabled');
    return { userId: newId('u', this.deps.now()), kind: 'new' };
  }

  private async applyPerson(tx: Store, ctx: Context, person: DirectoryPerson, resolved: Resolved): Promise<string | null> {
    let r = resolved;
    // Resolved before this transaction: the person may have signed in (and been brought in) since.
    if (r.kind === 'new') {
      const again = await this.resolve(tx, ctx.counts, person);
      if (!again) return null;
      if (again.kind !== 'new') r = again;
    }
    const groupIds = person.groupDns.map((dn) => ctx.groupIdByDn.get(normalizeDn(dn))).filter((id): id is string => id !== undefined);
    const desiredRole = this.roleFor(person.groupDns);
    const initialRole = desiredRole ?? this.mappings.defaultRole;
    let row: PersonRow | undefined;
    if (r.kind === 'new') {
      const user = { id: r.userId, email: person.email!, display_name: person.displayName, password_hash: null, created_at: ctx.now, deactivated_at: null };
      await tx.users.create(user);
      await tx.users.addToWorkspace(ctx.workspaceId, r.userId, initialRole, ctx.now);
      row = { ...user, role: initialRole, profile: null };
      ctx.counts.added++;
      await this.audit(tx, ctx, 'directory.user_added', r.userId, { dn: person.dn, role: initialRole });
    } else {
      row = ctx.loaded.get(r.userId) ?? (await tx.directory.person(ctx.workspaceId, r.userId));
      if (!row) {
        // A linked account that is not in this workspace yet.
        await tx.users.addToWorkspace(ctx.workspaceId, r.userId, initialRole, ctx.now);
        row = (await tx.directory.person(ctx.workspaceId, r.userId))!;
      }
      if (r.kind === 'link') await this.audit(tx, ctx, 'directory.user_linked', r.userId, { dn: person.dn });
    }
    const { profile: before, role } = row;

    const managerId = ctx.userIdByDn === null ? (before?.manager_id ?? null) : person.managerDn ? (ctx.userIdByDn.get(normalizeDn(person.managerDn)) ?? null) : null;
    const profile: ProfileRow = {
      user_id: r.userId,
      title: person.title,
      phone: person.phone,
      employee_number: person.employeeNumber,
      department_id: ctx.departmentByDn.get(normalizeDn(parentDn(person.dn))) ?? null,
      manager_id: managerId,
      source: SOURCE,
      external_id: person.externalId,
      external_dn: person.dn,
      login_name: person.login,
      source_deactivated_at: before?.source_deactivated_at ?? null,
      updated_at: ctx.now,
    };
    const changed = changedFields(before ?? undefined, profile);
    const email = person.email && person.email !== row.email && !(await tx.users.byEmail(person.email)) ? person.email : row.email;
    if (person.displayName !== row.display_name) changed.displayName = [row.display_name, person.displayName];
    if (email !== row.email) changed.email = [row.email, email];
    if (changed.displayName || changed.email) await tx.directory.updateUser(r.userId, { display_name: person.displayName, email });
    if (r.kind !== 'new' && Object.keys(changed).length > 0) {
      ctx.counts.updated++;
      await this.audit(tx, ctx, 'directory.user_updated', r.userId, { changes: changed });
    }
    let write = before === null || Object.keys(changed).length > 0 || before.source !== SOURCE || before.external_id !== profile.external_id;

    if (person.disabled && row.deactivated_at === null) {
      await this.deactivate(tx, ctx, { ...profile, role }, 'disabled');
      return r.userId;
    }
    // Back only if the directory itself had deactivated them; an admin's deactivation stands.
    const active = row.deactivated_at === null || (!person.disabled && profile.source_deactivated_at !== null);
    if (row.deactivated_at !== null && active) {
      await tx.directory.setActive(r.userId, true, ctx.now);
      profile.source_deactivated_at = null;
      write = true;
      ctx.counts.reactivated++;
      await this.audit(tx, ctx, 'directory.user_reactivated', r.userId, { dn: person.dn });
    }
    if (write) await tx.directory.upsertProfile(profile);
    if (!active) return r.userId;

    if (desiredRole !== undefined && r.kind !== 'new' && role !== 'owner' && role !== desiredRole) {
      await tx.users.setRole(ctx.workspaceId, r.userId, desiredRole);
      ctx.counts.roleChanges++;
      ctx.publish.push({ kind: 'user-revoked', userId: r.userId, reason: 'role_changed' });
      await this.audit(tx, ctx, 'role.changed', r.userId, { from: role, to: desiredRole, by: 'directory' });
    }
    const previousGroups = ctx.memberships.get(r.userId) ?? (await tx.directory.groupsOf(r.userId));
    if ([...previousGroups].sort().join() !== [...groupIds].sort().join()) await tx.directory.setGroupsOf(r.userId, groupIds);
    await this.syncChannels(tx, ctx, r.userId, person.groupDns, previousGroups.map((id) => ctx.groupDnById.get(id)).filter((dn): dn is string => dn !== undefined));
    return r.userId;
  }

  /**
   * Undefined when no role mapping is configured: roles are then the admins' to manage.
   * Otherwise the highest role of the person's mapped groups, or the default role.
   */
  private roleFor(groupDns: string[]): MappedRole | undefined {
    if (this.roleKeys.size === 0) return undefined;
    let best: MappedRole | undefined;
    for (const dn of groupDns) {
      for (const key of groupKeys(dn)) {
        const role = this.roleKeys.get(key);
        if (role && (best === undefined || RANK[role] > RANK[best])) best = role;
      }
    }
    return best ?? this.mappings.defaultRole;
  }

  private channelsFor(groupDns: string[]): Set<string> {
    const names = new Set<string>();
    for (const dn of groupDns) for (const key of groupKeys(dn)) for (const name of this.channelKeys.get(key) ?? []) names.add(name);
    return names;
  }

  /** Joins the channels of the person's groups; leaves those that only a group they left had given. */
  private async syncChannels(tx: Store, ctx: Context, userId: string, groupDns: string[], previousGroupDns: string[]): Promise<void> {
    if (this.channelKeys.size === 0) return;
    const wanted = this.channelsFor(groupDns);
    const given = this.channelsFor(previousGroupDns);
    for (const name of wanted) {
      const channel = await this.channel(tx, ctx, name);
      if (!channel || (await tx.channels.member(channel.id, userId))) continue;
      const event = await appendEvent(tx, channel.id, userId, ctx.now, 'member.joined', { userId });
      await tx.channels.addMember({ channel_id: channel.id, user_id: userId, role: 'member', joined_at: ctx.now, last_read_seq: event.seq });
      ctx.events.push(event);
      ctx.counts.channelJoins++;
      await this.audit(tx, ctx, 'directory.channel_joined', userId, { channel: name });
    }
    for (const name of given) {
      if (wanted.has(name)) continue;
      const channel = await this.channel(tx, ctx, name);
      const member = channel && (await tx.channels.member(channel.id, userId));
      if (!channel || !member || member.role === 'owner') continue;
      const event = await appendEvent(tx, channel.id, userId, ctx.now, 'member.left', { userId });
      await tx.channels.removeMember(channel.id, userId);
      ctx.events.push(event);
      ctx.counts.channelLeaves++;
      await this.audit(tx, ctx, 'directory.channel_left', userId, { channel: name });
    }
  }

  private async channel(tx: Store, ctx: Context, name: string): Promise<ChannelRow | null> {
    if (!ctx.channels.has(name)) {
      const row = (await tx.channels.byName(ctx.workspaceId, name)) ?? null;
      const usable = row && row.archived_at === null ? row : null;
      if (!usable && !ctx.counts.missingChannels.includes(name)) ctx.counts.missingChannels.push(name);
      ctx.channels.set(name, usable);
    }
    return ctx.channels.get(name)!;
  }

  /** The same cut as an admin's deactivation: sessions deleted, live sockets closed on every node. */
  private async deactivate(tx: Store, ctx: Context, profile: ProfileRow & { role: string }, reason: 'removed' | 'disabled'): Promise<void> {
    if (profile.role === 'owner') {
      ctx.counts.skipped.push({ dn: profile.external_dn ?? profile.user_id, reason: `owner not deactivated (${reason})` });
      return;
    }
    await tx.directory.setActive(profile.user_id, false, ctx.now);
    await tx.users.deleteSessionsOf(profile.user_id);
    await tx.directory.upsertProfile({ ...stripRole(profile), source_deactivated_at: ctx.now, updated_at: ctx.now });
    ctx.publish.push({ kind: 'user-revoked', userId: profile.user_id, reason: 'deactivated' });
    ctx.counts.deactivated++;
    await this.audit(tx, ctx, 'directory.user_deactivated', profile.user_id, { reason, dn: profile.external_dn });
  }

  private async audit(tx: Store, ctx: Context, action: string, target: string, details: Record<string, unknown>): Promise<void> {
    await this.accounts.audit(tx, { workspaceId: ctx.workspaceId, actorId: null, action, target, details: { source: SOURCE, ...details } });
  }
}

function stripRole<T extends ProfileRow>(row: T): ProfileRow {
  return {
    user_id: row.user_id,
    title: row.title,
    phone: row.phone,
    employee_number: row.employee_number,
    department_id: row.department_id,
    manager_id: row.manager_id,
    source: row.source,
    external_id: row.external_id,
    external_dn: row.external_dn,
    login_name: row.login_name,
    source_deactivated_at: row.source_deactivated_at,
    updated_at: row.updated_at,
  };
}

const TRACKED = ['title', 'phone', 'employee_number', 'department_id', 'manager_id', 'external_dn', 'login_name'] as const;

function changedFields(before: ProfileRow | undefined, after: ProfileRow): Record<string, [unknown, unknown]> {
  const changes: Record<string, [unknown, unknown]> = {};
  for (const field of TRACKED) {
    const old = before?.[field] ?? null;
    if (old !== after[field]) changes[field] = [old, after[field]];
  }
  return changes;
}

/** Adds `more` into `total` (and returns it). */
function mergeCounts(total: Counts, more: Counts): Counts {
  for (const key of ['people', 'added', 'updated', 'deactivated', 'reactivated', 'roleChanges', 'channelJoins', 'channelLeaves', 'groups'] as const) total[key] += more[key];
  for (const key of ['added', 'updated', 'removed'] as const) total.departments[key] += more.departments[key];
  total.skipped.push(...more.skipped);
  for (const name of more.missingChannels) if (!total.missingChannels.includes(name)) total.missingChannels.push(name);
  return total;
}

function summary(counts: Counts): Record<string, unknown> {
  const { skipped, missingChannels, ...rest } = counts;
  return { ...rest, skipped: skipped.length, missingChannels };
}
