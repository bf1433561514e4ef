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
