import { ConfigError, type Config } from '../config.js';
import type { AccountService } from '../services/accounts.js';
import type { ServiceDeps } from '../services/context.js';
import { DirectorySync } from '../services/directory-sync.js';
import { DirectoryService } from '../services/directory.js';
import { LdapDirectory } from './ldap.js';

/** The directory service when SOTONG_LDAP_URL is set (its settings checked here), else undefined. */
export function openDirectory(config: Config, deps: ServiceDeps, accounts: AccountService): DirectoryService | undefined {
  if (!config.ldapUrl) return undefined;
  if (!config.ldapUserBase) throw new ConfigError('SOTONG_LDAP_USER_BASE (ldapUserBase): required when SOTONG_LDAP_URL is set');
  if (config.ldapBindDn && !config.ldapBindPassword) throw new ConfigError('SOTONG_LDAP_BIND_PASSWORD (ldapBindPassword): required with SOTONG_LDAP_BIND_DN');
  if (config.ldapStartTls && config.ldapUrl.startsWith('ldaps:')) throw new ConfigError('SOTONG_LDAP_STARTTLS (ldapStartTls): an ldaps:// URL is TLS already');
  let directory: LdapDirectory;
  try {
    directory = new LdapDirectory({
      url: config.ldapUrl.replace(/\/$/, ''),
      startTls: config.ldapStartTls,
      caFile: config.ldapCaFile,
      bindDn: config.ldapBindDn,
      bindPassword: config.ldapBindPassword,
      preset: config.ldapPreset,
      attributes: Object.fromEntries(Object.entries(config.ldapAttributes).filter(([, v]) => v !== undefined)),
      userBase: config.ldapUserBase,
      userFilter: config.ldapUserFilter,
      groupBase: config.ldapGroupBase,
      groupFilter: config.ldapGroupFilter,
      timeoutMs: config.ldapTimeoutMs,
    });
  } catch (err) {
    throw new ConfigError(`directory settings: ${(err as Error).message}`);
  }
  const sync = new DirectorySync(deps, accounts, directory, {
    groupRoles: config.ldapGroupRoles,
    groupChannels: config.ldapGroupChannels,
    defaultRole: config.ldapDefaultRole,
  });
  const service = new DirectoryService(deps, directory, sync, config.ldapSyncIntervalSeconds);
  accounts.directory = service;
  return service;
}
