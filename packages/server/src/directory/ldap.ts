import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { AndFilter, Client, EqualityFilter, FilterParser, InvalidCredentialsError, OrFilter, type Entry, type Filter } from 'ldapts';
import { SotongError } from '@sotong/protocol';
import { externalId, isDisabled, normalizeDn, parentDn, PRESETS, text, texts, type AttributeMap, type PresetName } from './attributes.js';

export interface LdapSettings {
  url: string;
  startTls: boolean;
  /** PEM of the CA(s) that sign the directory's certificate; unset: the system's CAs. */
  caFile?: string | undefined;
  bindDn?: string | undefined;
  bindPassword?: string | undefined;
  preset: PresetName;
  attributes: Partial<AttributeMap>;
  userBase: string;
  userFilter?: string | undefined;
  groupBase?: string | undefined;
  groupFilter?: string | undefined;
  timeoutMs: number;
}

/** A person as the directory has them. DNs are as the server spells them. */
export interface DirectoryPerson {
  dn: string;
  externalId: string;
  login: string;
  /** userPrincipalName on AD. */
  loginAlt: string | null;
  email: string | null;
  displayName: string;
  phone: string | null;
  employeeNumber: string | null;
  title: string | null;
  managerDn: string | null;
  groupDns: string[];
  disabled: boolean;
}

/** An organisational unit below the user base: a department. */
export interface DirectoryUnit {
  dn: string;
  name: string;
  /** null for a unit right below the user base (a top-level department). */
  parentDn: string | null;
}

export interface DirectoryGroup {
  dn: string;
  name: string;
}

export interface DirectorySnapshot {
  people: DirectoryPerson[];
  units: DirectoryUnit[];
  groups: DirectoryGroup[];
}

const PAGE_SIZE = 500;

/**
 * Reads people, OUs and groups from an LDAP directory (OpenLDAP or Active Directory) and checks
 * passwords by binding as the person. Each operation opens its own connection (StartTLS first when
 * configured) and closes it; the service account's password is never logged or put in an error.
 */
export class LdapDirectory {
  readonly map: AttributeMap;
  private readonly userFilter: Filter;
  private readonly unitFilter: Filter;
  private readonly groupFilter: Filter;
  private readonly binary: string[];
  private readonly tls: ConnectionOptions;

  constructor(private readonly settings: LdapSettings) {
    const preset = PRESETS[settings.preset];
    this.map = { ...preset.attributes, ...settings.attributes };
    this.binary = preset.binary.filter((a) => a === this.map.externalId);
    this.userFilter = parseFilter(settings.userFilter ?? preset.userFilter, 'SOTONG_LDAP_USER_FILTER');
    this.groupFilter = parseFilter(settings.groupFilter ?? preset.groupFilter, 'SOTONG_LDAP_GROUP_FILTER');
    this.unitFilter = FilterParser.parseString(preset.unitFilter);
    const host = new URL(settings.url).hostname;
    this.tls = {
      ...(settings.caFile ? { ca: readFileSync(settings.caFile) } : {}),
      // SNI takes host names only; an IP address is checked against the certificate's IP SANs.
      ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
      minVersion: 'TLSv1.2',
    };
  }

  /** Everything a sync needs, read with the service account. */
  async snapshot(): Promise<DirectorySnapshot> {
    return this.withServiceBind(async (client) => {
      const people = (await this.search(client, this.settings.userBase, this.userFilter, this.personAttributes()))
        .map((e) => this.person(e))
        .filter((p): p is DirectoryPerson => p !== null);
      const base = normalizeDn(this.settings.userBase);
      const units = (await this.search(client, this.settings.userBase, this.unitFilter, [this.map.unitName]))
        .filter((e) => normalizeDn(e.dn) !== base)
        .map((e) => {
          const up = parentDn(e.dn);
          return { dn: e.dn, name: text(e, this.map.unitName) ?? e.dn, parentDn: normalizeDn(up) === base ? null : up };
        });
      const groups = this.settings.groupBase
        ? (await this.search(client, this.settings.groupBase, this.groupFilter, [this.map.groupName])).map((e) => ({ dn: e.dn, name: text(e, this.map.groupName) ?? e.dn }))
        : [];
      return { people, units, groups };
    });
  }

  /** The person whose sign-in name, alternative sign-in name or email is `identifier`. */
  async findPerson(identifier: string): Promise<DirectoryPerson | undefined> {
    const names = [this.map.login, this.map.email, ...(this.map.loginAlt ? [this.map.loginAlt] : [])];
    const filter = new AndFilter({
      filters: [this.userFilter, new OrFilter({ filters: names.map((attribute) => new EqualityFilter({ attribute, value: identifier })) })],
    });
    return this.withServiceBind(async (client) => {
      const found = (await this.search(client, this.settings.userBase, filter, this.personAttributes())).map((e) => this.person(e)).filter((p) => p !== null);
      // An identifier that matches two entries signs in as neither.
      return found.length === 1 ? found[0] : undefined;
    });
  }

  /** True if the directory accepts the password for the entry; false if it refuses it. */
  async checkPassword(dn: string, password: string): Promise<boolean> {
    // An empty password would be an "unauthenticated bind", which servers accept: never try it.
    if (password.length === 0) return false;
    const client = await this.connect();
    try {
      await client.bind(dn, password);
      return true;
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return false;
      throw unreachable(err);
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  private personAttributes(): string[] {
    const m = this.map;
    return [m.login, m.loginAlt, m.email, m.displayName, m.phone, m.employeeNumber, m.title, m.manager, m.memberOf, m.externalId, m.disabled].filter(
      (a): a is string => a !== null,
    );
  }

  private person(entry: Entry): DirectoryPerson | null {
    const m = this.map;
    const id = externalId(entry, m.externalId);
    const login = text(entry, m.login);
    if (id === null || login === null) return null;
    const loginAlt = text(entry, m.loginAlt);
    const email = text(entry, m.email) ?? (loginAlt?.includes('@') ? loginAlt : null);
    return {
      dn: entry.dn,
      externalId: id,
      login: login.toLowerCase(),
      loginAlt: loginAlt?.toLowerCase() ?? null,
      email: email?.toLowerCase() ?? null,
      displayName: text(entry, m.displayName) ?? login,
      phone: text(entry, m.phone),
      employeeNumber: text(entry, m.employeeNumber),
      title: text(entry, m.title),
      managerDn: text(entry, m.manager),
      groupDns: texts(entry, m.memberOf),
      disabled: isDisabled(entry, m),
    };
  }

  private async search(client: Client, base: string, filter: Filter, attributes: string[]): Promise<Entry[]> {
    try {
      const { searchEntries } = await client.search(base, {
        scope: 'sub',
        filter,
        attributes,
        paged: { pageSize: PAGE_SIZE },
        ...(this.binary.length > 0 ? { explicitBufferAttributes: this.binary } : {}),
      });
      return searchEntries;
    } catch (err) {
      throw unreachable(err);
    }
  }

  private async withServiceBind<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      if (this.settings.bindDn) {
        try {
          await client.bind(this.settings.bindDn, this.settings.bindPassword ?? '');
        } catch (err) {
          if (err instanceof InvalidCredentialsError) throw new SotongError('unavailable', 'the directory refused the service account (check SOTONG_LDAP_BIND_DN and its password)');
          throw unreachable(err);
        }
      }
      return await work(client);
    } finally {
      await client.unbind().catch(() => {});
    }
  }

  private async connect(): Promise<Client> {
    const secure = this.settings.url.startsWith('ldaps:');
    const client = new Client({
      url: this.settings.url,
      timeout: this.settings.timeoutMs,
      connectTimeout: this.settings.timeoutMs,
      ...(secure ? { tlsOptions: this.tls } : {}),
    });
    if (this.settings.startTls && !secure) {
      try {
        await client.startTLS(this.tls);
      } catch (err) {
        await client.unbind().catch(() => {});
        throw unreachable(err);
      }
    }
    return client;
  }
}

function parseFilter(filter: string, setting: string): Filter {
  try {
    return FilterParser.parseString(filter);
  } catch (err) {
    throw new SotongError('bad_request', `${setting}: not an LDAP filter (${(err as Error).message})`);
  }
}

/** A directory that cannot be reached or answers with an error: `unavailable`, with its reason (never a credential). */
function unreachable(err: unknown): SotongError {
  if (err instanceof SotongError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SotongError('unavailable', `the directory cannot be reached: ${message}`);
}
