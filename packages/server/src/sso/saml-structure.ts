import { DOMParser } from '@xmldom/xmldom';
import { SamlRefusal } from './saml-refusal.js';

const PROTOCOL = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DSIG = 'http://www.w3.org/2000/09/xmldsig#';

export function parseXml(xml: string): Document {
  const errors: string[] = [];
  const doc = new DOMParser({ errorHandler: (level: string, message: unknown) => void (level !== 'warning' && errors.push(String(message))) }).parseFromString(xml, 'text/xml');
  if (errors.length > 0 || !doc.documentElement) throw new SamlRefusal('malformed', 'the SAML message is not well-formed XML');
  return doc;
}

const childrenNamed = (parent: Element, ns: string, localName: string): Element[] =>
  Array.from(parent.childNodes).filter((n): n is Element => n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === localName);

/**
 * Structural checks before any signature is verified, so each attack gets its own reason:
 * exactly one Response and one Assertion in the whole document (a second one, wherever it hides,
 * is a signature-wrapping attempt), no repeated ID, and the signatures the SP requires present.
 */
export function checkResponseShape(doc: Document, wantResponseSigned: boolean): { root: Element; assertion: Element } {
  const root = doc.documentElement!;
  if (root.namespaceURI !== PROTOCOL || root.localName !== 'Response') throw new SamlRefusal('malformed', 'not a SAML Response');
  const responses = doc.getElementsByTagNameNS(PROTOCOL, 'Response').length;
  const assertions = Array.from(doc.getElementsByTagNameNS(ASSERTION, 'Assertion'));
  if (responses !== 1 || assertions.length > 1) throw new SamlRefusal('signature_wrapping', 'the response holds more than one Response or Assertion');
  const ids = new Set<string>();
  for (const element of Array.from(doc.getElementsByTagNameNS('*', '*'))) {
    const id = element.getAttribute('ID');
    if (!id) continue;
    if (ids.has(id)) throw new SamlRefusal('signature_wrapping', 'an ID appears twice in the response');
    ids.add(id);
  }
  const assertion = assertions[0];
  if (!assertion) {
    if (doc.getElementsByTagNameNS(ASSERTION, 'EncryptedAssertion').length > 0) throw new SamlRefusal('malformed', 'encrypted assertions are not supported');
    throw new SamlRefusal(statusFailed(root) ? 'idp_error' : 'malformed', statusFailed(root) ? 'the identity provider answered with an error status' : 'the response carries no assertion');
  }
  if (assertion.parentNode !== root) throw new SamlRefusal('signature_wrapping', 'the assertion is not where a Response keeps it');
  if (childrenNamed(assertion, DSIG, 'Signature').length === 0) throw new SamlRefusal('unsigned', 'the assertion is not signed');
  if (wantResponseSigned && childrenNamed(root, DSIG, 'Signature').length === 0) throw new SamlRefusal('unsigned', 'the response is not signed');
  return { root, assertion };
}

/** The root element carries an enveloped signature. */
export function hasSignature(doc: Document): boolean {
  return childrenNamed(doc.documentElement!, DSIG, 'Signature').length > 0;
}

function statusFailed(root: Element): boolean {
  const status = childrenNamed(root, PROTOCOL, 'Status')[0];
  const code = status && childrenNamed(status, PROTOCOL, 'StatusCode')[0];
  return !!code && code.getAttribute('Value') !== 'urn:oasis:names:tc:SAML:2.0:status:Success';
}

/** The certificates the message's signatures name in KeyInfo, base64 without whitespace. */
export function embeddedCertificates(doc: Document): string[] {
  return Array.from(doc.getElementsByTagNameNS(DSIG, 'X509Certificate')).map((e) => (e.textContent ?? '').replace(/\s+/g, ''));
}

/** The base64 body of a PEM certificate, for comparing with KeyInfo. */
export function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END)[^-]*-----/g, '').replace(/\s+/g, '');
}
