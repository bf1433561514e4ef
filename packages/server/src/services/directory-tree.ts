import { normalizeDn } from '../directory/attributes.js';
import type { DirectorySnapshot } from '../directory/ldap.js';
import { newId } from '../ids.js';
import type { Store } from '../store/store.js';
import { SOURCE, type Context } from './directory-context.js';

/** Writes one audit entry about a change a sync made. */
export type ChangeAudit = (tx: Store, ctx: Context, action: string, target: string, details: Record<string, unknown>) => Promise<void>;

/** The OUs below the user base become the department tree; renamed or moved ones are updated, vanished ones removed. */
export async function syncDepartments(tx: Store, ctx: Context, snapshot: DirectorySnapshot, audit: ChangeAudit): Promise<void> {
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
      await audit(tx, ctx, 'directory.department_added', id, { name: unit.name, dn: unit.dn });
    } else if (row.name !== unit.name || row.parent_id !== parentId) {
      await tx.directory.updateDepartment(row.id, { name: unit.name, parent_id: parentId });
      ctx.counts.departments.updated++;
      await audit(tx, ctx, 'directory.department_updated', row.id, { name: unit.name, dn: unit.dn });
    }
  }
  const gone = [...existing.values()].filter((d) => !seen.has(d.external_id!));
  await tx.directory.deleteDepartments(gone.map((d) => d.id));
  for (const d of gone) {
    ctx.departmentByDn.delete(d.external_id!);
    ctx.counts.departments.removed++;
    await audit(tx, ctx, 'directory.department_removed', d.id, { name: d.name });
  }
}

/** Groups are recorded by DN, so a sync can tell who left a group since the last one. */
export async function syncGroups(tx: Store, ctx: Context, snapshot: DirectorySnapshot): Promise<void> {
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
