import { type WorkspaceRole } from '@sotong/protocol';
import { normalizeDn, parentDn } from '../directory/attributes.js';
import type { DirectoryPerson } from '../directory/ldap.js';
import { newId } from '../ids.js';
import type { PersonRow } from '../store/directory.js';
import type { ChannelRow, ProfileRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { AccountService } from './accounts.js';
import { appendEvent } from './channels.js';
import type { ServiceDeps } from './context.js';
import { SOURCE, type Context, type Counts, type Resolved } from './directory-context.js';
import type { ChangeAudit } from './directory-tree.js';

type MappedRole = Exclude<WorkspaceRole, 'owner'>;
const RANK: Record<MappedRole, number> = { guest: 0, member: 1, admin: 2 };

export interface DirectoryMappings {
  /** Group name (cn) or DN → role; keys compare lower-cased. */
  groupRoles: Record<string, MappedRole>;
  groupChannels: Record<string, string[]>;
  defaultRole: MappedRole;
}

function groupKeys(dn: string): string[] {
  const norm = normalizeDn(dn);
  const first = norm.split(',')[0] ?? '';
  return [norm, first.slice(first.indexOf('=') + 1)];
}

/**
 * One directory person into the store: which account they are, their profile, whether they may
 * sign in (deactivated when they leave or are disabled, with the same session cut as an admin's;
 * back when the directory brings them back), their role and channels by group.
 */
export class DirectoryPeople {
  private readonly roleKeys: Map<string, MappedRole>;
  private readonly channelKeys: Map<string, string[]>;

  constructor(
    private readonly deps: ServiceDeps,
    private readonly accounts: AccountService,
    private readonly mappings: DirectoryMappings,
  ) {
    this.roleKeys = new Map(Object.entries(mappings.groupRoles).map(([k, v]) => [normalizeDn(k), v]));
    this.channelKeys = new Map(Object.entries(mappings.groupChannels).map(([k, v]) => [normalizeDn(k), v]));
  }

  async resolve(store: Store, counts: Counts, person: DirectoryPerson): Promise<Resolved | null> {
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

  async apply(tx: Store, ctx: Context, person: DirectoryPerson, resolved: Resolved): Promise<string | null> {
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

  /** The same cut as an admin's deactivation (tokens deleted, devices no longer renew, live sockets closed on every node). */
  async deactivate(tx: Store, ctx: Context, profile: ProfileRow & { role: string }, reason: 'removed' | 'disabled'): Promise<void> {
    if (profile.role === 'owner') {
      ctx.counts.skipped.push({ dn: profile.external_dn ?? profile.user_id, reason: `owner not deactivated (${reason})` });
      return;
    }
    ctx.publish.push(await this.accounts.writeDeactivation(tx, profile.user_id));
    await tx.directory.upsertProfile({ ...stripRole(profile), source_deactivated_at: ctx.now, updated_at: ctx.now });
    ctx.counts.deactivated++;
    await this.audit(tx, ctx, 'directory.user_deactivated', profile.user_id, { reason, dn: profile.external_dn });
  }

  readonly audit: ChangeAudit = async (tx, ctx, action, target, details) => {
    await this.accounts.audit(tx, { workspaceId: ctx.workspaceId, actorId: null, action, target, details: { source: SOURCE, ...details } });
  };
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
