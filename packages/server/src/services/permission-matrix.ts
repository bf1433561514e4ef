import type { PermissionMatrix } from '@sotong/protocol';
import { ACTIONS, CONDITIONS, INCLUDES, ROLES, RULES, type Grant, type Role, type Rule } from './permissions.js';

/**
 * What one role alone brings to an action: "✓", "—", or "if …" listing what else must hold
 * (alternatives joined by "or"). A person's rights are the union of the cells of their roles.
 */
export function cell(role: Role, allow: readonly Grant[]): string {
  const held = new Set<string>(INCLUDES[role]);
  const rest = allow.filter((grant) => grant.some((term) => held.has(term))).map((grant) => grant.filter((term) => !held.has(term)));
  if (rest.length === 0) return '—';
  if (rest.some((terms) => terms.length === 0)) return '✓';
  const alternatives = rest.map((terms) => (rest.length > 1 && terms.length > 1 ? `(${terms.join(', ')})` : terms.join(', ')));
  return `if ${alternatives.join(' or ')}`;
}

export function permissionMatrix(): PermissionMatrix {
  const roles = Object.keys(ROLES) as Role[];
  return {
    roles: roles.map((name) => ({ name, about: ROLES[name] })),
    conditions: Object.entries(CONDITIONS).map(([name, c]) => ({ name, about: c.about })),
    actions: ACTIONS.map((name) => {
      const rule: Rule = RULES[name];
      return {
        name,
        about: rule.about,
        audited: rule.audit === true,
        allow: rule.allow.map((grant) => [...grant]),
        byRole: Object.fromEntries(roles.map((role) => [role, cell(role, rule.allow)])),
      };
    }),
  };
}

/** The matrix as the Markdown table in docs/identity.md (a test holds the two equal). */
export function permissionTable(matrix: PermissionMatrix = permissionMatrix()): string {
  const roles = matrix.roles.map((r) => r.name);
  const header = `| action | ${roles.join(' | ')} | refusal audited |`;
  const rule = `|---|${roles.map(() => '---').join('|')}|---|`;
  const rows = matrix.actions.map((a) => `| \`${a.name}\` | ${roles.map((r) => a.byRole[r]).join(' | ')} | ${a.audited ? 'yes' : ''} |`);
  return [header, rule, ...rows].join('\n');
}
