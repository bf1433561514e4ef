import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Client } from 'ldapts';

/**
 * A private OpenLDAP (Debian `slapd`) for one test file: its own slapd.conf with the mdb backend
 * and the memberOf overlay, a CA and a server certificate made here with openssl (for StartTLS and
 * LDAPS), slapd run as a child process on free loopback ports, and the fixture entries added to it. The service manager is not involved; `stop()` ends the process and removes the folder.
 */
export interface Slapd {
  /** ldap://127.0.0.1:PORT (plain; StartTLS upgrades it) */
  url: string;
  /** ldaps://127.0.0.1:PORT */
  ldapsUrl: string;
  /** PEM file of the CA that signed the server certificate. */
  caFile: string;
  suffix: string;
  adminDn: string;
  adminPassword: string;
  /** A connection bound as the directory's root, to change entries during a test. */
  admin(): Promise<Client>;
  stop(): Promise<void>;
}

export const SUFFIX = 'dc=sotong,dc=test';
/** Debian puts it in /usr/sbin, which an unprivileged PATH may lack. */
const SLAPD = existsSync('/usr/sbin/slapd') ? '/usr/sbin/slapd' : 'slapd';
const ADMIN_PASSWORD = 'directory root secret';

/**
 * The Active Directory attributes our `activedirectory` preset reads, with their AD OIDs, on an
 * auxiliary class: so the preset is exercised against a real server. (memberOf comes from the overlay.)
 */
const AD_SCHEMA = `
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.35 NAME 'employeeID' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.2 NAME 'objectGUID' EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.1 NAME 'sotongAdAccount' AUXILIARY MAY ( sAMAccountName $ userPrincipalName $ userAccountControl $ employeeID $ objectGUID ) )
`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A CA and a server certificate for 127.0.0.1 / localhost, signed by it. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=Sotong Test Directory CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=127.0.0.1');
  writeFileSync(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext);
  return { ca, cert, key };
}

/** An entry to add: attribute values as text, or bytes for binary attributes (objectGUID). */
export interface LdapEntry {
  dn: string;
  attributes: Record<string, string | string[] | Buffer>;
}

export interface SlapdOptions {
  /** Entries below the suffix, parents first (the suffix entry itself is added here). */
  entries: LdapEntry[];
}

export async function startSlapd(options: SlapdOptions): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'sotong-slapd-'));
  const db = join(dir, 'db');
  mkdirSync(db);
  const tls = makeCertificates(dir);
  writeFileSync(join(dir, 'ad.schema'), AD_SCHEMA);
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      'include /etc/ldap/schema/nis.schema',
      `include ${join(dir, 'ad.schema')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'moduleload memberof',
      `pidfile ${join(dir, 'slapd.pid')}`,
      `argsfile ${join(dir, 'slapd.args')}`,
      `TLSCACertificateFile ${tls.ca}`,
      `TLSCertificateFile ${tls.cert}`,
      `TLSCertificateKeyFile ${tls.key}`,
      // Passwords only over TLS (StartTLS or LDAPS), as a security team would configure it.
      'security simple_bind=128',
      'database mdb',
      `suffix "${SUFFIX}"`,
      `rootdn "cn=admin,${SUFFIX}"`,
      `rootpw "${ADMIN_PASSWORD}"`,
      `directory ${db}`,
      'maxsize 33554432',
      'index objectClass eq',
      'index uid,mail,sAMAccountName,userPrincipalName eq',
      'overlay memberof',
      'memberof-group-oc groupOfNames',
      'memberof-member-ad member',
      'memberof-memberof-ad memberOf',
      'memberof-refint TRUE',
      '',
    ].join('\n'),
  );

  const [port, ldapsPort] = [await freePort(), await freePort()];
  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  let log = '';
  const child: ChildProcess = spawn(SLAPD, ['-d', '0', '-f', conf, '-h', `${url}/ ${ldapsUrl}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const deadline = Date.now() + 15_000;
  while (!(await listening(port)) || !(await listening(ldapsPort))) {
    if (child.exitCode !== null) throw new Error(`slapd exited (${child.exitCode}):\n${log}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`slapd did not listen within 15 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const slapd: Slapd = {
    url,
    ldapsUrl,
    caFile: tls.ca,
    suffix: SUFFIX,
    adminDn: `cn=admin,${SUFFIX}`,
    adminPassword: ADMIN_PASSWORD,
    async admin() {
      const client = new Client({ url, timeout: 5000, connectTimeout: 5000 });
      await client.startTLS({ ca: readFileSync(tls.ca) });
      await client.bind(slapd.adminDn, ADMIN_PASSWORD);
      return client;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Added over the protocol (not slapadd) so the memberOf overlay fills in memberOf.
  const client = await slapd.admin();
  try {
    await client.add(SUFFIX, { objectClass: ['dcObject', 'organization'], dc: 'sotong', o: 'Sotong Test' });
    for (const entry of options.entries) await client.add(entry.dn, toAttributes(entry.attributes));
  } catch (err) {
    await slapd.stop();
    throw err;
  } finally {
    await client.unbind().catch(() => {});
  }
  return slapd;
}

export function toAttributes(values: LdapEntry['attributes']): Attribute[] {
  return Object.entries(values).map(([type, v]) => new Attribute({ type, values: Buffer.isBuffer(v) ? [v] : typeof v === 'string' ? [v] : v }));
}
