import type { Entry } from 'ldapts';

/** Which directory attribute carries each piece of a person, a department (OU) and a group. */
export interface AttributeMap {
  /** The sign-in name: uid (OpenLDAP), sAMAccountName (AD). */
  login: string;
  /** A second accepted sign-in name, and the email when `email` is empty: userPrincipalName (AD). */
  loginAlt: string | null;
  email: string;
  displayName: string;
  phone: string;
  employeeNumber: string;
  title: string;
  /** DN of the person's manager. */
  manager: string;
  /** DNs of the person's groups (the memberOf overlay on OpenLDAP; built in on AD). */
  memberOf: string;
  /** A stable id that survives renames and moves: entryUUID (OpenLDAP), objectGUID (AD). */
  externalId: string;
  /** Marks a disabled account; `disabledRule` says how to read it. null: accounts are only ever removed. */
  disabled: string | null;
  /** `uac`: bit 2 (ACCOUNTDISABLE) of AD's userAccountControl; `present`: any value means disabled. */
  disabledRule: 'uac' | 'present';
  /** The name of an organisational unit. */
  unitName: string;
  /** The name of a group. */
  groupName: string;
}

export interface Preset {
  attributes: AttributeMap;
  userFilter: string;
  unitFilter: string;
  groupFilter: string;
  /** Attributes that come back as bytes (binary GUIDs). */
  binary: string[];
}

export const PRESETS = {
  openldap: {
    attributes: {
      login: 'uid',
      loginAlt: null,
      email: 'mail',
      displayName: 'cn',
      phone: 'telephoneNumber',
      employeeNumber: 'employeeNumber',
      title: 'title',
      manager: 'manager',
      memberOf: 'memberOf',
      externalId: 'entryUUID',
      // Set by the ppolicy overlay when an account is locked.
      disabled: 'pwdAccountLockedTime',
      disabledRule: 'present',
      unitName: 'ou',
      groupName: 'cn',
    },
    userFilter: '(objectClass=inetOrgPerson)',
    unitFilter: '(objectClass=organizationalUnit)',
    groupFilter: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))',
    binary: [],
  },
  activedirectory: {
    attributes: {
      login: 'sAMAccountName',
      loginAlt: 'userPrincipalName',
      email: 'mail',
      displayName: 'displayName',
      phone: 'telephoneNumber',
      employeeNumber: 'employeeID',
      title: 'title',
      manager: 'manager',
      memberOf: 'memberOf',
      externalId: 'objectGUID',
      disabled: 'userAccountControl',
      disabledRule: 'uac',
      unitName: 'ou',
      groupName: 'cn',
    },
    userFilter: '(&(objectClass=user)(!(objectClass=computer)))',
    unitFilter: '(objectClass=organizationalUnit)',
    groupFilter: '(objectClass=group)',
    binary: ['objectGUID'],
  },
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;

/** ACCOUNTDISABLE in AD's userAccountControl flags. */
const UAC_ACCOUNTDISABLE = 0x2;

/**
 * ldapts gives an attribute as a string, an array of strings, bytes, or `[]` when empty, and keys
 * it as the server spelled it: look it up without regard to case and always get a list.
 */
export function values(entry: Entry, attribute: string): (string | Buffer)[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (key === undefined || key === 'dn') return [];
  const raw = entry[key]!;
  const list = Array.isArray(raw) ? raw : [raw];
  return list.filter((v) => (typeof v === 'string' ? v.trim().length > 0 : v.length > 0));
}

export function text(entry: Entry, attribute: string | null): string | null {
  if (attribute === null) return null;
  const [first] = values(entry, attribute);
  if (first === undefined) return null;
  return (typeof first === 'string' ? first : first.toString('utf8')).trim().normalize('NFC');
}

export function texts(entry: Entry, attribute: string): string[] {
  return values(entry, attribute).map((v) => (typeof v === 'string' ? v : v.toString('utf8')).trim());
}

/** A binary id (objectGUID) as hex; a text one (entryUUID) as given, lower-cased. */
export function externalId(entry: Entry, attribute: string): string | null {
  const [first] = values(entry, attribute);
  if (first === undefined) return null;
  return typeof first === 'string' ? first.trim().toLowerCase() : first.toString('hex');
}

export function isDisabled(entry: Entry, map: AttributeMap): boolean {
  if (map.disabled === null) return false;
  const value = text(entry, map.disabled);
  if (value === null) return false;
  if (map.disabledRule === 'present') return true;
  const flags = Number.parseInt(value, 10);
  return Number.isFinite(flags) && (flags & UAC_ACCOUNTDISABLE) !== 0;
}

/** DNs compare without regard to case or spaces after commas (as both servers treat them). */
export function normalizeDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((part) => part.trim())
    .join(',')
    .toLowerCase();
}

/** The DN one level up: `uid=a,ou=b,dc=c` → `ou=b,dc=c`. */
export function parentDn(dn: string): string {
  const parts = dn.split(/(?<!\\),/);
  return parts.slice(1).join(',').trim();
}
