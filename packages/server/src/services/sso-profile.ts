import { newId } from '../ids.js';
import type { ProfileRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { AccountService } from './accounts.js';
import { SOURCE as DIRECTORY_SOURCE } from './directory-context.js';

const SOURCE = 'saml';

export interface AssertedProfile {
  workspaceId: string;
  userId: string;
  department: string | null;
  title: string | null;
  now: number;
}

/**
 * Puts the department and title an IdP asserts on the person's org-chart profile, so SSO users
 * appear in the org chart. The department is found by name among the top-level departments, or
 * made there (`source: saml`). Both follow the assertion: an attribute no longer sent is cleared.
 * A person the directory (LDAP) syncs is left alone: the directory is their source of truth.
 * Returns the profile fields that changed (`department`, `title`).
 */
export async function applyAssertedProfile(tx: Store, accounts: AccountService, asserted: AssertedProfile): Promise<string[]> {
  const { workspaceId, userId, now } = asserted;
  const profile = await tx.directory.profile(userId);
  if (profile?.source === DIRECTORY_SOURCE) return [];
  const departmentId = asserted.department === null ? null : await departmentNamed(tx, accounts, workspaceId, asserted.department, now);
  const changed: string[] = [];
  if ((profile?.department_id ?? null) !== departmentId) changed.push('department');
  if ((profile?.title ?? null) !== asserted.title) changed.push('title');
  if (changed.length === 0) return [];
  const row: ProfileRow = {
    user_id: userId,
    title: asserted.title,
    phone: profile?.phone ?? null,
    employee_number: profile?.employee_number ?? null,
    department_id: departmentId,
    manager_id: profile?.manager_id ?? null,
    source: profile?.source ?? SOURCE,
    external_id: profile?.external_id ?? null,
    external_dn: profile?.external_dn ?? null,
    login_name: profile?.login_name ?? null,
    source_deactivated_at: profile?.source_deactivated_at ?? null,
    updated_at: now,
  };
  await tx.directory.upsertProfile(row);
  return changed;
}

async function departmentNamed(tx: Store, accounts: AccountService, workspaceId: string, name: string, now: number): Promise<string> {
  const existing = await tx.directory.topDepartmentNamed(workspaceId, name);
  if (existing) return existing.id;
  const id = newId('dp', now);
  // external_id is the name: the unique (workspace, source, external_id) index keeps two nodes from making it twice.
  await tx.directory.insertDepartment({ id, workspace_id: workspaceId, parent_id: null, name, source: SOURCE, external_id: name, created_at: now });
  await accounts.audit(tx, { workspaceId, actorId: null, action: 'sso.department_added', target: id, details: { name } });
  return id;
}
