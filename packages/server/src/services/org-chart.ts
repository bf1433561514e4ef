import { SotongError, type Department, type Person, type Profile, type WorkspaceRole } from '@sotong/protocol';
import type { PersonRow } from '../store/directory.js';
import type { DepartmentRow } from '../store/schema.js';
import type { ServiceDeps } from './context.js';
import { assertCan, type Actor } from './permissions.js';

export function personView(row: PersonRow): Person {
  return {
    userId: row.id,
    displayName: row.display_name,
    email: row.email,
    role: row.role as WorkspaceRole,
    title: row.profile?.title ?? null,
    phone: row.profile?.phone ?? null,
    employeeNumber: row.profile?.employee_number ?? null,
    departmentId: row.profile?.department_id ?? null,
    deactivated: row.deactivated_at !== null,
  };
}

/**
 * The org chart: the department tree, who is in a department with which title, one person's
 * profile, and people by name. Members and admins see all of it; a guest sees only their own
 * profile and those of people they share a channel with (the rules are in permissions.ts).
 */
export class OrgChartService {
  constructor(private readonly deps: ServiceDeps) {}

  async departments(actor: Actor): Promise<Department[]> {
    assertCan(actor, 'org.browse', { kind: 'workspace', workspaceId: actor.workspaceId });
    const store = this.deps.store.read.directory;
    const [rows, counts] = await Promise.all([store.departments(actor.workspaceId), store.departmentCounts(actor.workspaceId)]);
    return rows.map((d) => departmentView(d, counts.get(d.id) ?? 0));
  }

  async department(actor: Actor, departmentId: string, limit: number): Promise<{ department: Department; path: { id: string; name: string }[]; members: Person[] }> {
    assertCan(actor, 'org.browse', { kind: 'workspace', workspaceId: actor.workspaceId });
    const store = this.deps.store.read.directory;
    const row = await store.department(departmentId);
    if (!row || row.workspace_id !== actor.workspaceId) throw new SotongError('not_found', 'no such department');
    const [members, counts] = await Promise.all([store.people(actor.workspaceId, { departmentId, limit }), store.departmentCounts(actor.workspaceId)]);
    return { department: departmentView(row, counts.get(departmentId) ?? 0), path: await this.path(departmentId), members: members.map(personView) };
  }

  async person(actor: Actor, userId: string): Promise<Profile> {
    const store = this.deps.store.read.directory;
    const row = await store.person(actor.workspaceId, userId);
    if (!row) throw new SotongError('not_found', 'no such person');
    const sharesChannel = actor.role === 'guest' && userId !== actor.userId ? await store.shareChannel(actor.userId, userId) : false;
    assertCan(actor, 'org.person.read', { kind: 'person', workspaceId: actor.workspaceId, userId, sharesChannel });
    const managerId = row.profile?.manager_id;
    const manager = managerId ? await store.person(actor.workspaceId, managerId) : undefined;
    const departmentId = row.profile?.department_id;
    return {
      ...personView(row),
      departmentPath: departmentId ? await this.path(departmentId) : [],
      manager: manager ? personView(manager) : null,
      source: row.profile?.source ?? null,
    };
  }

  /** By a fragment of the name (Korean or Latin; case does not matter), the email or the sign-in name. */
  async search(actor: Actor, query: string, limit: number): Promise<Person[]> {
    assertCan(actor, 'org.browse', { kind: 'workspace', workspaceId: actor.workspaceId });
    const fragment = query.normalize('NFC').trim();
    if (fragment.length === 0) throw new SotongError('bad_request', 'an empty search');
    return (await this.deps.store.read.directory.people(actor.workspaceId, { nameContains: fragment, limit })).map(personView);
  }

  /** From the top of the tree down to the department. */
  private async path(departmentId: string): Promise<{ id: string; name: string }[]> {
    const path: { id: string; name: string }[] = [];
    const seen = new Set<string>();
    let id: string | null = departmentId;
    while (id !== null && !seen.has(id)) {
      seen.add(id);
      const row: DepartmentRow | undefined = await this.deps.store.read.directory.department(id);
      if (!row) break;
      path.unshift({ id: row.id, name: row.name });
      id = row.parent_id;
    }
    return path;
  }
}

function departmentView(row: DepartmentRow, memberCount: number): Department {
  return { id: row.id, parentId: row.parent_id, name: row.name, memberCount };
}
