import { z } from 'zod';

/** A setting given as JSON text in the environment, or as a value in the config file. */
function json<T extends z.ZodType>(schema: T) {
  return z.preprocess((raw) => {
    if (typeof raw !== 'string') return raw;
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return Symbol('not JSON');
    }
  }, schema);
}

const flag = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .default(false)
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

const attributeName = z.string().regex(/^[A-Za-z][A-Za-z0-9-]*(;[A-Za-z0-9-]+)*$/, 'an LDAP attribute name');

/** A group, by its name (cn) or its DN, mapped to something; keys compare without regard to case. */
const groupMap = <T extends z.ZodType>(value: T) => json(z.record(z.string().min(1), value)).default({});

/**
 * The directory (LDAP / Active Directory) settings, spread into the settings table of config.ts.
 * The bind password is a secret: never logged, never in an error.
 */
export const directorySettings = {
  /** ldap://host:389 or ldaps://host:636; unset: no directory. */
  ldapUrl: { env: 'SOTONG_LDAP_URL', schema: z.string().regex(/^ldaps?:\/\/[^/\s]+\/?$/, 'ldap://host:port or ldaps://host:port').optional() },
  ldapStartTls: { env: 'SOTONG_LDAP_STARTTLS', schema: flag },
  ldapCaFile: { env: 'SOTONG_LDAP_CA_FILE', schema: z.string().min(1).optional() },
  ldapPreset: { env: 'SOTONG_LDAP_PRESET', schema: z.enum(['openldap', 'activedirectory']).default('openldap') },
  ldapBindDn: { env: 'SOTONG_LDAP_BIND_DN', schema: z.string().min(1).optional() },
  ldapBindPassword: { env: 'SOTONG_LDAP_BIND_PASSWORD', schema: z.string().min(1).optional() },
  ldapUserBase: { env: 'SOTONG_LDAP_USER_BASE', schema: z.string().min(1).optional() },
  ldapUserFilter: { env: 'SOTONG_LDAP_USER_FILTER', schema: z.string().min(3).optional() },
  ldapGroupBase: { env: 'SOTONG_LDAP_GROUP_BASE', schema: z.string().min(1).optional() },
  ldapGroupFilter: { env: 'SOTONG_LDAP_GROUP_FILTER', schema: z.string().min(3).optional() },
  /** Overrides of the preset's attribute names, e.g. {"displayName": "displayName"}. */
  ldapAttributes: {
    env: 'SOTONG_LDAP_ATTRIBUTES',
    schema: json(
      z
        .object({
          login: attributeName,
          loginAlt: attributeName.nullable(),
          email: attributeName,
          displayName: attributeName,
          phone: attributeName,
          employeeNumber: attributeName,
          title: attributeName,
          manager: attributeName,
          memberOf: attributeName,
          externalId: attributeName,
          disabled: attributeName.nullable(),
          disabledRule: z.enum(['uac', 'present']),
          unitName: attributeName,
          groupName: attributeName,
        })
        .partial()
        .strict(),
    ).default({}),
  },
  ldapGroupRoles: { env: 'SOTONG_LDAP_GROUP_ROLES', schema: groupMap(z.enum(['admin', 'member', 'guest'])) },
  ldapGroupChannels: { env: 'SOTONG_LDAP_GROUP_CHANNELS', schema: groupMap(z.array(z.string().min(1)).max(100)) },
  /** The role of directory people in no group of `ldapGroupRoles`. */
  ldapDefaultRole: { env: 'SOTONG_LDAP_DEFAULT_ROLE', schema: z.enum(['admin', 'member', 'guest']).default('member') },
  /** Seconds between scheduled syncs; 0: only on demand. */
  ldapSyncIntervalSeconds: { env: 'SOTONG_LDAP_SYNC_INTERVAL_SECONDS', schema: z.coerce.number().int().min(0).default(3600) },
  ldapTimeoutMs: { env: 'SOTONG_LDAP_TIMEOUT_MS', schema: z.coerce.number().int().min(100).default(10_000) },
} as const;
