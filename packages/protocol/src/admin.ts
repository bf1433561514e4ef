import { z } from 'zod';
import { Id } from './model.js';

/** One entry of the append-only security audit log. */
export const AuditEvent = z.object({
  id: z.number().int(),
  at: z.number(),
  /** e.g. login.succeeded, login.failed, login.locked, user.created, user.deactivated, role.changed, password.reset */
  action: z.string(),
  actorId: Id.nullable(),
  target: z.string().nullable(),
  address: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEvent = z.infer<typeof AuditEvent>;

/**
 * The permission model as the server enforces it: roles, named conditions, and for each action
 * the grants that allow it (a grant holds when every role and condition in it holds) and, per
 * role, a readable cell ("✓", "—", or "if …" with what else must hold).
 */
export const PermissionMatrix = z.object({
  roles: z.array(z.object({ name: z.string(), about: z.string() })),
  conditions: z.array(z.object({ name: z.string(), about: z.string() })),
  actions: z.array(
    z.object({
      name: z.string(),
      about: z.string(),
      /** A refusal is written to the audit log as `permission.denied`. */
      audited: z.boolean(),
      allow: z.array(z.array(z.string())),
      byRole: z.record(z.string(), z.string()),
    }),
  ),
});
export type PermissionMatrix = z.infer<typeof PermissionMatrix>;
