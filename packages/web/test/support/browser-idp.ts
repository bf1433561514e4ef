import { createServer, type Server } from 'node:http';
import { redirectMessage, TestIdp, type ResponseOptions } from '@sotong/server/test-support/saml-idp';

export interface IdpUser {
  nameId: string;
  email: string;
  displayName: string;
  department?: string;
}

/**
 * The server tests' SAML identity provider (its keys and signed Responses) behind a small HTTP
 * endpoint a browser can be sent to: GET /sso with the SP's AuthnRequest (HTTP-Redirect binding)
 * answers a page that posts the signed Response to the SP's ACS by itself, as a real IdP does once
 * its user has signed in there. Who that user is, the test says with `signInAs`.
 */
export class BrowserIdp {
  readonly idp = new TestIdp('');
  private user: IdpUser | undefined;
  private extra: Partial<ResponseOptions> = {};
  /** The AuthnRequest ids this IdP answered, in order. */
  readonly answered: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<BrowserIdp> {
    let self: BrowserIdp | undefined;
    const server = createServer((request, response) => {
      const answer = self!.answer(new URL(request.url ?? '/', self!.url));
      response.writeHead(answer.status, { 'content-type': 'text/html; charset=utf-8' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new BrowserIdp(server, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    return self;
  }

  /** The SOTONG_SAML setting that makes a server trust this IdP. */
  settings(): string {
    return this.idp.settings({ idpSsoUrl: `${this.url}/sso`, idpSloUrl: `${this.url}/slo` });
  }

  /** Who signs in at the IdP next; `extra` changes the Response (another signing key, say). */
  signInAs(user: IdpUser, extra: Partial<ResponseOptions> = {}): void {
    this.user = user;
    this.extra = extra;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(url: URL): { status: number; body: string } {
    if (url.pathname !== '/sso' || !this.user) return { status: 404, body: 'no such page' };
    const request = redirectMessage(url.href, 'SAMLRequest').doc.documentElement!;
    const id = request.getAttribute('ID')!;
    const acs = request.getAttribute('AssertionConsumerServiceURL')!;
    const audience = request.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Issuer')[0]?.textContent ?? '';
    this.answered.push(id);
    const { nameId, email, displayName, department } = this.user;
    const xml = this.idp.responseXml({
      nameId,
      inResponseTo: id,
      audience,
      destination: acs,
      recipient: acs,
      attributes: { email, displayName, ...(department ? { department } : {}) },
      ...this.extra,
    });
    const encoded = Buffer.from(xml, 'utf8').toString('base64');
    const body =
      `<!doctype html><meta charset="utf-8"><title>Test IdP</title>` +
      `<form method="post" action="${escapeHtml(acs)}"><input type="hidden" name="SAMLResponse" value="${encoded}"><button type="submit">Continue</button></form>` +
      `<script>document.forms[0].submit()</script>`;
    return { status: 200, body };
  }
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
