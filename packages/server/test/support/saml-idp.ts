import { execFileSync } from 'node:child_process';
import { createSign, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';

/**
 * A small SAML 2.0 identity provider for tests, independent of the SP under test: it writes
 * Responses and logout messages by hand and signs them with xml-crypto (exclusive c14n,
 * RSA-SHA256; the Assertion first, then the Response), with a key and certificate made by
 * openssl at test time. Nothing private is committed.
 */

export interface KeyPair {
  key: string;
  cert: string;
}

/** A fresh RSA key and self-signed certificate from openssl. */
export function makeKeyPair(commonName: string): KeyPair {
  const dir = mkdtempSync(join(tmpdir(), 'saml-key-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${commonName}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {
      stdio: 'ignore',
    });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const NS = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const iso = (ms: number) => new Date(ms).toISOString();
export const samlId = () => `_${randomBytes(16).toString('hex')}`;

/** Signs the element with the given local name (enveloped signature placed right after its Issuer). */
export function signElement(xml: string, localName: 'Assertion' | 'Response' | 'LogoutRequest' | 'LogoutResponse', keys: KeyPair): string {
  const sig = new SignedXml({ privateKey: keys.key, publicCert: keys.cert, signatureAlgorithm: RSA_SHA256, canonicalizationAlgorithm: C14N });
  const path = localName === 'Assertion' ? "//*[local-name(.)='Assertion']" : `/*[local-name(.)='${localName}']`;
  sig.addReference({ xpath: path, transforms: [ENVELOPED, C14N], digestAlgorithm: SHA256 });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `${path}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

export interface ResponseOptions {
  nameId: string;
  attributes?: Record<string, string | string[]>;
  inResponseTo?: string;
  audience?: string;
  destination?: string;
  recipient?: string;
  notOnOrAfter?: number;
  /** The bearer confirmation's own end, when it differs from the Conditions'. */
  confirmationNotOnOrAfter?: number;
  sessionIndex?: string;
  /** What gets signed: both (default), only the assertion, or nothing. */
  sign?: 'both' | 'assertion' | 'none';
  /** Another entity id as Issuer of the assertion and the response. */
  issuer?: string;
  /** Sign with another key (an IdP the SP does not trust). */
  keys?: KeyPair;
}

export class TestIdp {
  readonly keys = makeKeyPair('sotong-test-idp');
  readonly entityId = 'https://idp.example.test/saml';
  readonly ssoUrl = 'https://idp.example.test/sso';
  readonly sloUrl = 'https://idp.example.test/slo';

  constructor(
    /** The SP's base URL (the spawned server). */
    readonly spBase: string,
  ) {}

  get acsUrl(): string {
    return `${this.spBase}/api/v1/auth/saml/acs`;
  }

  get sloEndpoint(): string {
    return `${this.spBase}/api/v1/auth/saml/slo`;
  }

  get spEntityId(): string {
    return `${this.spBase}/api/v1/auth/saml/metadata`;
  }

  /** The SOTONG_SAML setting that makes the server trust this IdP. */
  settings(extra: Record<string, unknown> = {}): string {
    return JSON.stringify({ idpSsoUrl: this.ssoUrl, idpSloUrl: this.sloUrl, idpEntityId: this.entityId, idpCerts: [this.keys.cert], ...extra });
  }

  /** The assertion XML alone (unsigned), for tests that build wrapped documents. */
  assertion(o: ResponseOptions, id = samlId()): string {
    const now = Date.now();
    const until = o.notOnOrAfter ?? now + 5 * 60_000;
    const irt = o.inResponseTo ? ` InResponseTo="${esc(o.inResponseTo)}"` : '';
    const attributes = Object.entries(o.attributes ?? {})
      .map(([name, value]) => {
        const values = (Array.isArray(value) ? value : [value]).map((v) => `<saml:AttributeValue>${esc(v)}</saml:AttributeValue>`).join('');
        return `<saml:Attribute Name="${esc(name)}">${values}</saml:Attribute>`;
      })
      .join('');
    return (
      `<saml:Assertion ${NS} ID="${id}" Version="2.0" IssueInstant="${iso(now)}">` +
      `<saml:Issuer>${esc(o.issuer ?? this.entityId)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${esc(o.nameId)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData${irt} NotOnOrAfter="${iso(o.confirmationNotOnOrAfter ?? until)}" Recipient="${esc(o.recipient ?? this.acsUrl)}"/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${iso(now - 60_000)}" NotOnOrAfter="${iso(until)}"><saml:AudienceRestriction><saml:Audience>${esc(o.audience ?? this.spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${iso(now)}" SessionIndex="${esc(o.sessionIndex ?? samlId())}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
      `</saml:Assertion>`
    );
  }

  /** A Response around `inner` (an assertion, signed or not, or any wrapped content). */
  envelope(inner: string, o: { inResponseTo?: string; destination?: string; issuer?: string } = {}): string {
    const irt = o.inResponseTo ? ` InResponseTo="${esc(o.inResponseTo)}"` : '';
    return (
      `<samlp:Response ${NS} ID="${samlId()}" Version="2.0" IssueInstant="${iso(Date.now())}" Destination="${esc(o.destination ?? this.acsUrl)}"${irt}>` +
      `<saml:Issuer>${esc(o.issuer ?? this.entityId)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
      inner +
      `</samlp:Response>`
    );
  }

  /** A Response XML, signed as asked. */
  responseXml(o: ResponseOptions): string {
    const keys = o.keys ?? this.keys;
    const sign = o.sign ?? 'both';
    let assertion = this.assertion(o);
    if (sign !== 'none') assertion = signElement(assertion, 'Assertion', keys);
    const response = this.envelope(assertion, o);
    return sign === 'both' ? signElement(response, 'Response', keys) : response;
  }

  /** A LogoutRequest for the subject, signed (HTTP-POST binding). */
  logoutRequest(nameId: string, sessionIndex?: string, sign = true): { id: string; xml: string } {
    const id = samlId();
    const xml =
      `<samlp:LogoutRequest ${NS} ID="${id}" Version="2.0" IssueInstant="${iso(Date.now())}" Destination="${esc(this.sloEndpoint)}">` +
      `<saml:Issuer>${esc(this.entityId)}</saml:Issuer>` +
      `<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${esc(nameId)}</saml:NameID>` +
      (sessionIndex ? `<samlp:SessionIndex>${esc(sessionIndex)}</samlp:SessionIndex>` : '') +
      `</samlp:LogoutRequest>`;
    return { id, xml: sign ? signElement(xml, 'LogoutRequest', this.keys) : xml };
  }

  /** The same LogoutRequest by the HTTP-Redirect binding: the query string, signed over its raw parameters unless told not to. */
  logoutRedirectQuery(xml: string, sign = true): string {
    let query = `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`;
    if (!sign) return query;
    query += `&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
    const signature = createSign('RSA-SHA256').update(query).sign(this.keys.key, 'base64');
    return `${query}&Signature=${encodeURIComponent(signature)}`;
  }

  /** The answer to the SP's LogoutRequest, signed (HTTP-POST binding). */
  logoutResponse(inResponseTo: string): string {
    const xml =
      `<samlp:LogoutResponse ${NS} ID="${samlId()}" Version="2.0" IssueInstant="${iso(Date.now())}" Destination="${esc(this.sloEndpoint)}" InResponseTo="${esc(inResponseTo)}">` +
      `<saml:Issuer>${esc(this.entityId)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
      `</samlp:LogoutResponse>`;
    return signElement(xml, 'LogoutResponse', this.keys);
  }
}

/** Reads the SAML message an SP put in a redirect URL (HTTP-Redirect binding: deflate + base64). */
export function redirectMessage(location: string, param: 'SAMLRequest' | 'SAMLResponse'): { doc: Document; xml: string; url: URL } {
  const url = new URL(location);
  const encoded = url.searchParams.get(param);
  if (!encoded) throw new Error(`no ${param} in ${location}`);
  const xml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
  return { doc: new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document, xml, url };
}

export const b64 = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');
