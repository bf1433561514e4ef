import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEvent, User } from '@sotong/protocol';
import samlify, { type IdentityProviderInstance, type ServiceProviderInstance } from 'samlify';
import { spawnServer, type SpawnedServer } from './support/fixtures.js';
import { makeKeyPair } from './support/saml-idp.js';
import { codeFrom, exchangeAt, postAcsAt, PUBLIC_URL, refusal } from './support/saml-sp.js';

/**
 * The SP against an identity provider it shares no code with: samlify (a SAML implementation of
 * its own, on its own templates and its own xml-crypto signing) reads our AuthnRequest and signs the
 * answer. The crafted attacks stay with the in-repo TestIdp (saml.test.ts), which can write what
 * no honest IdP would.
 */

// samlify is CommonJS whose exports Node cannot all name to an ES module: take them off the default.
const { Constants, IdentityProvider, SamlLib, ServiceProvider, setSchemaValidator } = samlify;

// samlify refuses to parse any message until a schema validator is set. A permissive one is used
// only so that samlify, as the IdP, reads our own SP's AuthnRequest (to answer InResponseTo it);
// nothing the SP under test checks goes through it.
setSchemaValidator({ validate: () => Promise.resolve('skipped') });

/** Claim names as Azure AD sends them, mapped by the server's `attributes` setting. */
const CLAIMS = {
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  displayName: 'http://schemas.microsoft.com/identity/claims/displayname',
  department: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/department',
  title: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/title',
};
const ATTRNAME_URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';
const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const SSO_URL = 'https://samlify-idp.example.test/sso';

/** samlify's default Response template, with the AuthnStatement it leaves out (a session index, as real IdPs send). */
const template =
  SamlLib.defaultLoginResponseTemplate.context.replace(
    '{AuthnStatement}',
    '<saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>',
  );

describe('SAML sign-in with an independent IdP (samlify)', () => {
  let server: SpawnedServer;
  let adminToken: string;
  let idp: IdentityProviderInstance;
  let sp: ServiceProviderInstance;
  const keys = makeKeyPair('samlify-idp');
  const erin = { nameId: 'samlify-user-0001', email: 'erin.samlify@corp.example', displayName: 'Erin Cho', department: 'Security', title: 'Security Engineer' };

  /** SP-initiated: our server's AuthnRequest, as samlify parses it off the redirect to the IdP. */
  const authnRequest = async () => {
    const res = await fetch(`${server.httpUrl}/api/v1/auth/saml/login`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get('location')!);
    assert.equal(`${location.origin}${location.pathname}`, SSO_URL);
    const { extract } = await idp.parseLoginRequest(sp, 'redirect', { query: Object.fromEntries(location.searchParams) });
    const id = extract.request?.id as string | undefined;
    assert.ok(id, 'samlify found the AuthnRequest ID');
    return { id, extract };
  };

  /** samlify's signed login Response (XML) for Erin, in answer to `request`. */
  const loginResponse = async (request: Awaited<ReturnType<typeof authnRequest>>) => {
    const id = idp.entitySetting.generateID!();
    const now = new Date();
    const later = new Date(now.getTime() + 5 * 60_000).toISOString();
    const acs = sp.entityMeta.getAssertionConsumerService('post') as string;
    const values = {
      ID: id,
      AssertionID: idp.entitySetting.generateID!(),
      Destination: acs,
      Audience: sp.entityMeta.getEntityID(),
      SubjectRecipient: acs,
      Issuer: idp.entityMeta.getEntityID(),
      IssueInstant: now.toISOString(),
      StatusCode: Constants.StatusCode.Success,
      ConditionsNotBefore: now.toISOString(),
      ConditionsNotOnOrAfter: later,
      SubjectConfirmationDataNotOnOrAfter: later,
      NameIDFormat: PERSISTENT,
      NameID: erin.nameId,
      InResponseTo: request.id,
      SessionIndex: idp.entitySetting.generateID!(),
      attrEmail: erin.email,
      attrDisplayName: erin.displayName,
      attrDepartment: erin.department,
      attrTitle: erin.title,
    };
    const { context } = await idp.createLoginResponse(sp, { extract: request.extract }, 'post', { email: erin.email }, (raw) => ({ id, context: SamlLib.replaceTagsByValue(raw, values) }));
    return Buffer.from(context, 'base64').toString('utf8');
  };

  const audit = async () => (await server.request<{ events: AuditEvent[] }>('GET', '/api/v1/admin/audit?limit=500', undefined, adminToken)).events;

  before(async () => {
    const saml = {
      idpSsoUrl: SSO_URL,
      idpEntityId: 'https://samlify-idp.example.test/metadata',
      idpCerts: [keys.cert],
      attributes: CLAIMS,
    };
    server = await spawnServer({ env: { PUBLIC_URL, SOTONG_SAML: JSON.stringify(saml) } });
    adminToken = await server.adminToken();

    // samlify learns the SP from the metadata the server publishes (WantAssertionsSigned="true");
    // the server also wants the Response signed, which samlify calls wantMessageSigned.
    const metadata = await (await fetch(`${server.httpUrl}/api/v1/auth/saml/metadata`)).text();
    sp = ServiceProvider({ metadata, wantMessageSigned: true });
    idp = IdentityProvider({
      entityID: saml.idpEntityId,
      privateKey: keys.key,
      signingCert: keys.cert,
      singleSignOnService: [{ Binding: Constants.namespace.binding.redirect, Location: SSO_URL }],
      singleLogoutService: [{ Binding: Constants.namespace.binding.redirect, Location: 'https://samlify-idp.example.test/slo' }],
      nameIDFormat: [PERSISTENT],
      isAssertionEncrypted: false,
      wantAuthnRequestsSigned: false,
      loginResponseTemplate: {
        context: template,
        attributes: Object.entries(CLAIMS).map(([tag, name]) => ({ name, valueTag: tag, nameFormat: ATTRNAME_URI, valueXsiType: 'xs:string' })),
      },
    });
  });
  after(() => server?.stop());

  it('accepts samlify\'s signed answer to our AuthnRequest: the user is provisioned with the mapped attributes', async () => {
    const request = await authnRequest();
    const xml = await loginResponse(request);
    // samlify signed both the Assertion and the Response, as this SP requires.
    assert.match(xml, /<saml:Assertion [^>]*>\s*<saml:Issuer>[^<]*<\/saml:Issuer>\s*<ds:Signature/);
    assert.match(xml, /^<samlp:Response [^>]*>\s*<saml:Issuer>[^<]*<\/saml:Issuer>\s*<ds:Signature/);
    assert.match(xml, new RegExp(`InResponseTo="${request.id}"`));

    const session = await exchangeAt(server, await codeFrom(await postAcsAt(server.httpUrl, xml)));
    assert.equal(session.user.email, erin.email);
    assert.equal(session.user.displayName, erin.displayName);
    const me = await server.request<User>('GET', '/api/v1/me', undefined, session.token);
    assert.equal(me.id, session.user.id);

    const { identities } = await server.request<{ identities: { issuer: string; nameId: string; attributes: { email: string; department: string; title: string } }[] }>(
      'GET',
      `/api/v1/admin/users/${session.user.id}/sso`,
      undefined,
      adminToken,
    );
    assert.equal(identities.length, 1);
    assert.equal(identities[0]!.issuer, 'https://samlify-idp.example.test/metadata');
    assert.equal(identities[0]!.nameId, erin.nameId);
    assert.deepEqual([identities[0]!.attributes.department, identities[0]!.attributes.title], [erin.department, erin.title]);
    const events = await audit();
    assert.ok(events.some((e) => e.action === 'user.created' && e.target === session.user.id && e.details.source === 'saml'));
    assert.ok(events.some((e) => e.action === 'login.succeeded' && e.target === erin.email && e.details.factor === 'saml' && e.details.initiatedBy === 'sp'));
  });

  it('refuses the same samlify response with the email changed after signing, as tampered', async () => {
    const xml = (await loginResponse(await authnRequest())).replace(`>${erin.email}<`, '>mallory@corp.example<');
    assert.ok(xml.includes('>mallory@corp.example<'));
    assert.deepEqual(await refusal(await postAcsAt(server.httpUrl, xml)), { status: 401, code: 'unauthenticated', reason: 'tampered' });
    const events = await audit();
    assert.ok(events.some((e) => e.action === 'sso.refused' && e.details.reason === 'tampered'));
    assert.ok(!events.some((e) => e.target === 'mallory@corp.example' && e.action === 'login.succeeded'), 'no one signed in as the altered address');
  });
});
