import type { WorkspaceRole } from '@sotong/protocol';
import { SamlRefusal } from './saml-refusal.js';
import type { SamlSettings } from './saml-settings.js';

/** What Sotong takes from an assertion, by the configured attribute names. */
export interface MappedAttributes {
  email: string;
  displayName: string;
  department: string | null;
  title: string | null;
  groups: string[];
  /** The role the groups give, or null when roles are not managed by the IdP (no `groupRoles`). */
  role: Exclude<WorkspaceRole, 'owner'> | null;
}

const RANK = { guest: 0, member: 1, admin: 2 } as const;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const values = (raw: unknown): string[] =>
  (Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw]).filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter((v) => v.length > 0);

const first = (raw: unknown): string | null => values(raw)[0] ?? null;

export function mapAttributes(attributes: Record<string, unknown>, nameId: string, settings: SamlSettings): MappedAttributes {
  const names = settings.attributes;
  const email = (first(attributes[names.email]) ?? (EMAIL.test(nameId) ? nameId : null))?.toLowerCase();
  if (!email || !EMAIL.test(email)) throw new SamlRefusal('missing_attribute', `the assertion carries no email (attribute "${names.email}")`);
  const groups = values(attributes[names.groups]);
  const managed = Object.keys(settings.groupRoles).length > 0;
  let role: MappedAttributes['role'] = null;
  if (managed) {
    role = settings.defaultRole;
    const mapped = groups.map((g) => settings.groupRoles[g]).filter((r) => r !== undefined);
    if (mapped.length > 0) role = mapped.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
  }
  return {
    email,
    displayName: first(attributes[names.displayName]) ?? email.split('@')[0]!,
    department: first(attributes[names.department]),
    title: first(attributes[names.title]),
    groups,
    role,
  };
}
