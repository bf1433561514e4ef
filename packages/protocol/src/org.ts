import { z } from 'zod';
import { Id, WorkspaceRole } from './model.js';

/** One node of a workspace's department tree (organisational units, for a directory). */
export const Department = z.object({
  id: Id,
  parentId: Id.nullable(),
  name: z.string(),
  /** Active people directly in this department. */
  memberCount: z.number().int(),
});
export type Department = z.infer<typeof Department>;

/** A person as the org chart shows them. Fields the directory does not have are null. */
export const Person = z.object({
  userId: Id,
  displayName: z.string(),
  email: z.string(),
  role: WorkspaceRole,
  title: z.string().nullable(),
  phone: z.string().nullable(),
  employeeNumber: z.string().nullable(),
  departmentId: Id.nullable(),
  deactivated: z.boolean(),
});
export type Person = z.infer<typeof Person>;

/** A person's profile: their department from the top of the tree down, and their manager if known. */
export const Profile = Person.extend({
  departmentPath: z.array(z.object({ id: Id, name: z.string() })),
  manager: Person.nullable(),
  /** Where the profile comes from: `ldap` (directory sync), `saml` (department and title from SSO), or null for a local account. */
  source: z.string().nullable(),
});
export type Profile = z.infer<typeof Profile>;

/** What one directory sync did. */
export const DirectorySyncResult = z.object({
  trigger: z.enum(['scheduled', 'manual']),
  startedAt: z.number(),
  finishedAt: z.number(),
  /** People the directory returned. */
  people: z.number().int(),
  added: z.number().int(),
  updated: z.number().int(),
  deactivated: z.number().int(),
  reactivated: z.number().int(),
  roleChanges: z.number().int(),
  channelJoins: z.number().int(),
  channelLeaves: z.number().int(),
  departments: z.object({ added: z.number().int(), updated: z.number().int(), removed: z.number().int() }),
  groups: z.number().int(),
  /** Entries left out, and why (no email; an email another account has; …). */
  skipped: z.array(z.object({ dn: z.string(), reason: z.string() })),
  /** Channels named in SOTONG_LDAP_GROUP_CHANNELS that do not exist (or are archived). */
  missingChannels: z.array(z.string()),
});
export type DirectorySyncResult = z.infer<typeof DirectorySyncResult>;

/** The directory (LDAP) sync: schedule, whether one runs now, and how the last one went (its counts, or its error). */
export const DirectoryStatus = z.object({
  enabled: z.boolean(),
  intervalSeconds: z.number().int(),
  lastStartedAt: z.number().nullable(),
  lastFinishedAt: z.number().nullable(),
  running: z.boolean(),
  last: z.union([DirectorySyncResult, z.object({ error: z.string() }).passthrough()]).nullable(),
});
export type DirectoryStatus = z.infer<typeof DirectoryStatus>;
