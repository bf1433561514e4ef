import { sql, type Kysely } from 'kysely';
import type { Database, DepartmentRow, DirectoryGroupRow, ProfileRow, UserRow } from './schema.js';

export type PersonRow = UserRow & { role: string; profile: ProfileRow | null };

const PROFILE_COLUMNS = [
  'p.title',
  'p.phone',
  'p.employee_number',
  'p.department_id',
  'p.manager_id',
  'p.source',
  'p.external_id',
  'p.external_dn',
  'p.login_name',
  'p.source_deactivated_at',
  'p.updated_at',
] as const;

/** `%`, `_` and the escape character itself, escaped for `like … escape '\'`. */
function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Profiles, the department tree, directory groups and the sync lease. */
export class DirectoryStore {
  constructor(private readonly db: Kysely<Database>) {}

  async profile(userId: string): Promise<ProfileRow | undefined> {
    return this.db.selectFrom('user_profiles').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  async upsertProfile(row: ProfileRow): Promise<void> {
    const { user_id: _, ...rest } = row;
    await this.db
      .insertInto('user_profiles')
      .values(row)
      .onConflict((oc) => oc.column('user_id').doUpdateSet(rest))
      .execute();
  }

  /** The user a directory entry was synced to, by the entry's stable id. */
  async userByExternalId(source: string, externalId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('user_profiles').select('user_id').where('source', '=', source).where('external_id', '=', externalId).executeTakeFirst();
    return row?.user_id;
  }

  async userByLoginName(loginName: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('user_profiles').select('user_id').where('login_name', '=', loginName.toLowerCase()).executeTakeFirst();
    return row?.user_id;
  }

  /** Every profile a source synced into the workspace, with the user's state. */
  async sourceProfiles(workspaceId: string, source: string): Promise<(ProfileRow & { deactivated_at: number | null; email: string; display_name: string; role: string })[]> {
    return this.db
      .selectFrom('user_profiles as p')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .innerJoin('workspace_members as wm', 'wm.user_id', 'u.id')
      .selectAll('p')
      .select(['u.deactivated_at', 'u.email', 'u.display_name', 'wm.role'])
      .where('wm.workspace_id', '=', workspaceId)
      .where('p.source', '=', source)
      .execute();
  }

  async updateUser(userId: string, patch: { display_name: string; email: string }): Promise<void> {
    await this.db.updateTable('users').set(patch).where('id', '=', userId).execute();
  }

  async setActive(userId: string, active: boolean, at: number): Promise<void> {
    await this.db.updateTable('users').set({ deactivated_at: active ? null : at }).where('id', '=', userId).execute();
  }

  async departments(workspaceId: string): Promise<DepartmentRow[]> {
    return this.db.selectFrom('departments').selectAll().where('workspace_id', '=', workspaceId).orderBy('name').execute();
  }

  /** Active people per department of the workspace. */
  async departmentCounts(workspaceId: string): Promise<Map<string, number>> {
    const rows = await this.db
      .selectFrom('user_profiles as p')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .innerJoin('workspace_members as wm', 'wm.user_id', 'p.user_id')
      .select(['p.department_id', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('wm.workspace_id', '=', workspaceId)
      .where('u.deactivated_at', 'is', null)
      .where('p.department_id', 'is not', null)
      .groupBy('p.department_id')
      .execute();
    return new Map(rows.map((r) => [r.department_id!, Number(r.n)]));
  }

  async department(id: string): Promise<DepartmentRow | undefined> {
    return this.db.selectFrom('departments').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A top-level department of the workspace by its exact name (the oldest, if several share it). */
  async topDepartmentNamed(workspaceId: string, name: string): Promise<DepartmentRow | undefined> {
    return this.db
      .selectFrom('departments')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('parent_id', 'is', null)
      .where('name', '=', name)
      .orderBy('created_at')
      .orderBy('id')
      .executeTakeFirst();
  }

  async insertDepartment(row: DepartmentRow): Promise<void> {
    await this.db.insertInto('departments').values(row).execute();
  }

  async updateDepartment(id: string, patch: { name: string; parent_id: string | null }): Promise<void> {
    await this.db.updateTable('departments').set(patch).where('id', '=', id).execute();
  }

  /** Removes the departments; people in them are left without one. */
  async deleteDepartments(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable('user_profiles').set({ department_id: null }).where('department_id', 'in', ids).execute();
    await this.db.deleteFrom('departments').where('id', 'in', ids).execute();
  }

  async groups(workspaceId: string, source: string): Promise<DirectoryGroupRow[]> {
    return this.db.selectFrom('directory_groups').selectAll().where('workspace_id', '=', workspaceId).where('source', '=', source).execute();
  }

  async upsertGroup(row: DirectoryGroupRow): Promise<void> {
    await this.db.insertInto('directory_groups').values(row).onConflict((oc) => oc.column('id').doUpdateSet({ name: row.name })).execute();
  }

  async deleteGroups(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.deleteFrom('directory_group_members').where('group_id', 'in', ids).execute();
    await this.db.deleteFrom('directory_groups').where('id', 'in', ids).execute();
  }

  /** Group ids the user belongs to (as last synced). */
  async groupsOf(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('directory_group_members').select('group_id').where('user_id', '=', userId).execute();
    return rows.map((r) => r.group_id);
  }

  /** Group ids of each of the users (as last synced); every id given has an entry. */
  async groupMemberships(userIds: string[]): Promise<Map<string, string[]>> {
    const map = new Map(userIds.map((id) => [id, [] as string[]]));
    if (userIds.length === 0) return map;
    const rows = await this.db.selectFrom('directory_group_members').select(['user_id', 'group_id']).where('user_id', 'in', userIds).execute();
    for (const r of rows) map.get(r.user_id)!.push(r.group_id);
    return map;
  }

  async setGroupsOf(userId: string, groupIds: string[]): Promise<void> {
    await this.db.deleteFrom('directory_group_members').where('user_id', '=', userId).execute();
    if (groupIds.length > 0) await this.db.insertInto('directory_group_members').values(groupIds.map((group_id) => ({ group_id, user_id: userId }))).execute();
  }

  /** A workspace's members with their role and profile columns (people without a profile included). */
  private peopleOf(workspaceId: string) {
    return this.db
      .selectFrom('users as u')
      .innerJoin('workspace_members as wm', 'wm.user_id', 'u.id')
      .leftJoin('user_profiles as p', 'p.user_id', 'u.id')
      .selectAll('u')
      .select('wm.role')
      .select(PROFILE_COLUMNS)
      .where('wm.workspace_id', '=', workspaceId);
  }

  /** Active people with their profiles: in one department, or all matching a name fragment. */
  async people(workspaceId: string, filter: { departmentId?: string; nameContains?: string; limit: number }): Promise<PersonRow[]> {
    let query = this.peopleOf(workspaceId).where('u.deactivated_at', 'is', null);
    if (filter.departmentId !== undefined) query = query.where('p.department_id', '=', filter.departmentId);
    if (filter.nameContains !== undefined) {
      const pattern = `%${likeEscape(filter.nameContains.toLowerCase())}%`;
      query = query.where((eb) =>
        eb.or([
          eb(sql`lower(${sql.ref('u.display_name')})`, 'like', sql`${pattern} escape '\\'`),
          eb(sql`lower(${sql.ref('u.email')})`, 'like', sql`${pattern} escape '\\'`),
          eb('p.login_name', 'like', sql<string>`${pattern} escape '\\'`),
        ]),
      );
    }
    const rows = await query.orderBy('u.display_name').orderBy('u.id').limit(filter.limit).execute();
    return rows.map(splitPerson);
  }

  async person(workspaceId: string, userId: string): Promise<PersonRow | undefined> {
    return (await this.peopleByIds(workspaceId, [userId]))[0];
  }

  /** The workspace's members among the ids, with their profiles, deactivated ones included. */
  async peopleByIds(workspaceId: string, userIds: string[]): Promise<PersonRow[]> {
    if (userIds.length === 0) return [];
    const rows = await this.peopleOf(workspaceId).where('u.id', 'in', userIds).execute();
    return rows.map(splitPerson);
  }

  /** True if the two people share a channel or a conversation. */
  async shareChannel(a: string, b: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('channel_members as x')
      .innerJoin('channel_members as y', 'y.channel_id', 'x.channel_id')
      .select('x.channel_id')
      .where('x.user_id', '=', a)
      .where('y.user_id', '=', b)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Takes the sync lease if it is free (or expired); false when another run holds it. */
  async takeSyncLease(workspaceId: string, source: string, now: number, until: number): Promise<boolean> {
    await this.db
      .insertInto('directory_sync')
      .values({ workspace_id: workspaceId, source, lease_until: 0, started_at: null, finished_at: null, result: null })
      .onConflict((oc) => oc.columns(['workspace_id', 'source']).doNothing())
      .execute();
    const taken = await this.db
      .updateTable('directory_sync')
      .set({ lease_until: until, started_at: now })
      .where('workspace_id', '=', workspaceId)
      .where('source', '=', source)
      .where('lease_until', '<=', now)
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1;
  }

  async finishSync(workspaceId: string, source: string, at: number, result: string): Promise<void> {
    await this.db
      .updateTable('directory_sync')
      .set({ lease_until: 0, finished_at: at, result })
      .where('workspace_id', '=', workspaceId)
      .where('source', '=', source)
      .execute();
  }

  async syncState(workspaceId: string, source: string): Promise<Database['directory_sync'] | undefined> {
    return this.db.selectFrom('directory_sync').selectAll().where('workspace_id', '=', workspaceId).where('source', '=', source).executeTakeFirst();
  }
}

type JoinedRow = UserRow & { role: string } & { [K in keyof ProfileRow as K extends 'user_id' ? never : K]: ProfileRow[K] | null };

function splitPerson(row: JoinedRow): PersonRow {
  const { title, phone, employee_number, department_id, manager_id, source, external_id, external_dn, login_name, source_deactivated_at, updated_at, ...user } = row;
  const profile: ProfileRow | null =
    updated_at === null
      ? null
      : {
          user_id: user.id,
          title,
          phone,
          employee_number,
          department_id,
          manager_id,
          source,
          external_id,
          external_dn,
          login_name,
          source_deactivated_at: source_deactivated_at === null ? null : Number(source_deactivated_at),
          updated_at: Number(updated_at),
        };
  return { ...user, profile };
}
