import { randomBytes } from 'node:crypto';
import { SUFFIX, type LdapEntry, type Slapd } from './slapd.js';

export const PEOPLE = `ou=people,${SUFFIX}`;
export const GROUPS = `ou=groups,${SUFFIX}`;
export const DEV = `ou=개발팀,${PEOPLE}`;
export const PLATFORM = `ou=플랫폼파트,${DEV}`;
export const SALES = `ou=영업팀,${PEOPLE}`;

/** A server's settings for this company's directory on `slapd` (StartTLS, on-demand sync only). */
export function directoryEnv(slapd: Slapd, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SOTONG_LDAP_URL: slapd.url,
    SOTONG_LDAP_STARTTLS: 'true',
    SOTONG_LDAP_CA_FILE: slapd.caFile,
    SOTONG_LDAP_BIND_DN: slapd.adminDn,
    SOTONG_LDAP_BIND_PASSWORD: slapd.adminPassword,
    SOTONG_LDAP_USER_BASE: PEOPLE,
    SOTONG_LDAP_GROUP_BASE: GROUPS,
    SOTONG_LDAP_SYNC_INTERVAL_SECONDS: '0',
    ...extra,
  };
}

export interface FixturePerson {
  uid: string;
  name: string;
  password: string;
  dn: string;
  email: string;
}

const person = (uid: string, name: string, parent: string): FixturePerson => ({
  uid,
  name,
  password: `${uid} directory password 7`,
  dn: `uid=${uid},${parent}`,
  email: `${uid}@sotong.test`,
});

export const CEO = person('jiyoung', '박지영', PEOPLE);
export const MINSU = person('minsu', '김민수', DEV);
export const JISOO = person('jisoo', '이지수', PLATFORM);
export const HANA = person('hana', '최하나', SALES);
export const ALEX = person('alex', 'Alex Kim', SALES);
export const TEMP = person('temp', '정임시', PEOPLE);

function personEntry(p: FixturePerson, extra: { title?: string; manager?: FixturePerson; phone?: string; employeeNumber?: string }): LdapEntry {
  const [family] = [...p.name];
  return {
    dn: p.dn,
    attributes: {
      objectClass: ['inetOrgPerson', 'sotongAdAccount'],
      uid: p.uid,
      cn: p.name,
      sn: family ?? p.name,
      displayName: p.name,
      mail: p.email,
      userPassword: p.password,
      // Active Directory's spelling of the same account, for the `activedirectory` preset.
      sAMAccountName: p.uid,
      userPrincipalName: `${p.uid}@corp.sotong.test`,
      userAccountControl: '512',
      objectGUID: randomBytes(16),
      ...(extra.title ? { title: extra.title } : {}),
      ...(extra.manager ? { manager: extra.manager.dn } : {}),
      ...(extra.phone ? { telephoneNumber: extra.phone } : {}),
      ...(extra.employeeNumber ? { employeeNumber: extra.employeeNumber, employeeID: extra.employeeNumber } : {}),
    },
  };
}

const ou = (dn: string): LdapEntry => ({ dn, attributes: { objectClass: 'organizationalUnit', ou: dn.split(',')[0]!.slice(3) } });
const group = (cn: string, members: FixturePerson[]): LdapEntry => ({
  dn: `cn=${cn},${GROUPS}`,
  attributes: { objectClass: 'groupOfNames', cn, member: members.map((m) => m.dn) },
});

/** A small company: a CEO, a development team with a platform part, a sales team, and groups. */
export function companyEntries(): LdapEntry[] {
  return [
    ou(PEOPLE),
    ou(GROUPS),
    ou(DEV),
    ou(PLATFORM),
    ou(SALES),
    personEntry(CEO, { title: '대표이사', employeeNumber: '1000' }),
    personEntry(MINSU, { title: '선임연구원', manager: CEO, phone: '+82 2 555 1001', employeeNumber: '1001' }),
    personEntry(JISOO, { title: '연구원', manager: MINSU, employeeNumber: '1002' }),
    personEntry(HANA, { title: '과장', manager: CEO, employeeNumber: '1003' }),
    personEntry(ALEX, { title: 'Account Manager', manager: HANA, employeeNumber: '1004' }),
    personEntry(TEMP, { title: '계약직', employeeNumber: '1005' }),
    group('sotong-admins', [CEO]),
    group('devs', [MINSU, JISOO]),
    group('sales', [HANA, ALEX]),
    group('contractors', [TEMP]),
  ];
}
