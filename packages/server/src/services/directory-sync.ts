import { SotongError, type ChannelEvent, type DirectorySyncResult, type WorkspaceRole } from '@sotong/protocol';
import type { BusMessage } from '../bus/bus.js';
import { normalizeDn, parentDn } from '../directory/attributes.js';
import type { DirectoryPerson, DirectorySnapshot, LdapDirectory } from '../directory/ldap.js';
import { newId } from '../ids.js';
import type { ChannelRow, ProfileRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { AccountService } from './accounts.js';
import { appendEvent, published } from './channels.js';
import type { ServiceDeps } from './context.js';

export const SOURCE = 'ldap';
/** A sync that has not finished after this long is assumed dead; another may start. */
const LEASE_MS = 10 * 60_000;

type MappedRole = Exclude<WorkspaceRole, 'owner'>;
const RANK: Record<MappedRole, number> = { guest: 0, member: 1, admin: 2 };

export interface DirectoryMappings {
  /** Group name (cn) or DN → role; keys compare lower-cased. */
  groupRoles: Record<string, MappedRole>;
  groupChannels: Record<string, string[]>;
  defaultRole: MappedRole;
}

type Counts = Omit<DirectorySyncResult, 'trigger' | 'startedAt' | 'finishedAt'>;

/** What applying people needs to know, built once per sync (or per directory sign-in). */
interface Context {
  workspaceId: string;
  now: number;
  departmentByDn: Map<string, string>;
  groupIdByDn: Map<string, string>;
  groupDnById: Map<string, string>;
  /** null: the manager is left as it is (a sign-in sees one entry, not the whole directory). */
  userIdByDn: Map<string, string> | null;
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
      const counts = await this.deps.queue.run(async (tx) => {
        const ctx = await this.context(tx, workspaceId);
        await this.apply(tx, ctx, snapshot);
        await this.accounts.audit(tx, { workspaceId, actorId, action: 'directory.synced', details: { trigger, ...summary(ctx.counts) } });
        return { result: ctx.counts, publish: [...ctx.publish, ...published(ctx.events)] };
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

  /**
   * Brings one person in (or up to date) at sign-in, inside the caller's transaction: a person the
   * directory knows may sign in before the first sync. Returns the user id, or null if skipped.
   */
  async applyOne(tx: Store, workspaceId: string, person: DirectoryPerson): Promise<{ userId: string | null; publish: BusMessage[] }> {
    const ctx = await this.context(tx, workspaceId);
    ctx.userIdByDn = null;
    const userId = await this.applyPerson(tx, ctx, person);
    return { userId, publish: [...ctx.publish, ...published(ctx.events)] };
  }

  private async finish(workspaceId: string, result: DirectorySyncResult): Promise<void> {
    await this.deps.queue.run(async (tx) => {
      await tx.directory.finishSync(workspaceId, SOURCE, result.finishedAt, JSON.stringify(result));
      return { result: undefined };
    });
  }

  private async context(tx: Store, workspaceId: string): Promise<Context> {
    const departments = (await tx.directory.departments(workspaceId)).filter((d) => d.source === SOURCE && d.external_id !== null);
    const groups = await tx.directory.groups(workspaceId, SOURCE);
    return {
      workspaceId,
      now: this.deps.now(),
      departmentByDn: new Map(departments.map((d) => [d.external_id!, d.id])),
      groupIdByDn: new Map(groups.map((g) => [g.external_id, g.id])),
      groupDnById: new Map(groups.map((g) => [g.id, g.external_id])),
      userIdByDn: new Map(),
      channels: new Map(),
      counts: emptyCounts(),
      publish: [],
      events: [],
    };
  }

  private async apply(tx: Store, ctx: Context, snapshot: DirectorySnapshot): Promise<void> {
    const known = await tx.directory.sourceProfiles(ctx.workspaceId, SOURCE);
    // A wrong base DN or filter returns nobody: that must not deactivate everyone.
    if (snapshot.people.length === 0 && known.some((p) => p.deactivated_at === null)) {
      throw new SotongError('unavailable', 'the directory returned no people; nothing was changed (check SOTONG_LDAP_USER_BASE and the user filter)');
    }
    await this.syncDepartments(tx, ctx, snapshot);
    await this.syncGroups(tx, ctx, snapshot);
    ctx.counts.people = snapshot.people.length;

    const resolved = new Map<DirectoryPerson, Resolved>();
    for (const person of snapshot.people) {
      const r = await this.resolve(tx, ctx, person);
      if (!r) continue;
      resolved.set(person, r);
      ctx.userIdByDn!.set(normalizeDn(person.dn), r.userId);
    }
    const seen = new Set<string>();
    for (const [person, r] of resolved) {
      await this.applyPerson(tx, ctx, person, r);
      seen.add(r.userId);
    }
    for (const profile of known) {
      if (seen.has(profile.user_id) || profile.deactivated_at !== null) continue;
      await this.deactivate(tx, ctx, profile, 'removed');
    }
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
  private async resolve(tx: Store, ctx: Context, person: DirectoryPerson): Promise<Resolved | null> {
    const synced = await tx.directory.userByExternalId(SOURCE, person.externalId);
    if (synced) return { userId: synced, kind: 'existing' };
    if (!person.email) return this.skip(ctx, person, 'no email');
    const local = await tx.users.byEmail(person.email);
    if (local) {
      const profile = await tx.directory.profile(local.id);
      if (profile?.source && profile.source !== SOURCE) return this.skip(ctx, person, `the email belongs to an account from ${profile.source}`);
      return { userId: local.id, kind: 'link' };
    }
    if (person.disabled) return this.skip(ctx, person, 'disabled');
    return { userId: newId('u', ctx.now), kind: 'new' };
  }

  private skip(ctx: Context, person: DirectoryPerson, reason: string): null {
    ctx.counts.skipped.push({ dn: person.dn, reason });
    return null;
  }

  private async applyPerson(tx: Store, ctx: Context, person: DirectoryPerson, given?: Resolved): Promise<string | null> {
    const r = given ?? (await this.resolve(tx, ctx, person));
    if (!r) return null;
    const groupIds = person.groupDns.map((dn) => ctx.groupIdByDn.get(normalizeDn(dn))).filter((id): id is string => id !== undefined);
    const desiredRole = this.roleFor(person.groupDns);
    if (r.kind === 'new') {
      await tx.users.create({ id: r.userId, email: person.email!, display_name: person.displayName, password_hash: null, created_at: ctx.now, deactivated_at: null });
      await tx.users.addToWorkspace(ctx.workspaceId, r.userId, desiredRole ?? this.mappings.defaultRole, ctx.now);
      ctx.counts.added++;
      await this.audit(tx, ctx, 'directory.user_added', r.userId, { dn: person.dn, role: desiredRole ?? this.mappings.defaultRole });
    }
    const user = (await tx.users.byId(r.userId))!;
    let role = await tx.users.workspaceRole(ctx.workspaceId, r.userId);
    if (!role) {
      role = desiredRole ?? this.mappings.defaultRole;
      await tx.users.addToWorkspace(ctx.workspaceId, r.userId, role, ctx.now);
    }
    if (r.kind === 'link') await this.audit(tx, ctx, 'directory.user_linked', r.userId, { dn: person.dn });

    const before = await tx.directory.profile(r.userId);
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
    const changed = changedFields(before, profile);
    const email = person.email && person.email !== user.email && !(await tx.users.byEmail(person.email)) ? person.email : user.email;
    if (person.displayName !== user.display_name) changed.displayName = [user.display_name, person.displayName];
    if (email !== user.email) changed.email = [user.email, email];
    if (changed.displayName || changed.email) await tx.directory.updateUser(r.userId, { display_name: person.displayName, email });
    if (r.kind !== 'new' && Object.keys(changed).length > 0) {
      ctx.counts.updated++;
      await this.audit(tx, ctx, 'directory.user_updated', r.userId, { changes: changed });
    }

    let active = user.deactivated_at === null;
    if (person.disabled && active) {
      await tx.directory.upsertProfile(profile);
      await this.deactivate(tx, ctx, { ...profile, role }, 'disabled');
      return r.userId;
    }
    if (!person.disabled && !active && profile.source_deactivated_at !== null) {
      await tx.directory.setActive(r.userId, true, ctx.now);
      profile.source_deactivated_at = null;
      active = true;
      ctx.counts.reactivated++;
      await this.audit(tx, ctx, 'directory.user_reactivated', r.userId, { dn: person.dn });
    }
    await tx.directory.upsertProfile(profile);
    if (!active) return r.userId;

    if (desiredRole !== undefined && r.kind !== 'new' && role !== 'owner' && role !== desiredRole) {
      await tx.users.setRole(ctx.workspaceId, r.userId, desiredRole);
      ctx.counts.roleChanges++;
      ctx.publish.push({ kind: 'user-revoked', userId: r.userId, reason: 'role_changed' });
      await this.audit(tx, ctx, 'role.changed', r.userId, { from: role, to: desiredRole, by: 'directory' });
    }
    const previousGroups = await tx.directory.groupsOf(r.userId);
    if (previousGroups.sort().join() !== [...groupIds].sort().join()) await tx.directory.setGroupsOf(r.userId, groupIds);
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

function summary(counts: Counts): Record<string, unknown> {
  const { skipped, missingChannels, ...rest } = counts;
  return { ...rest, skipped: skipped.length, missingChannels };
}
