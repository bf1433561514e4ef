import { SAML, SamlStatusError, ValidateInResponseTo, type CacheProvider, type Profile } from '@node-saml/node-saml';
import type { ParsedQs } from 'qs';
import { SamlRefusal } from './saml-refusal.js';
import type { SamlSettings } from './saml-settings.js';
import { checkResponseShape, embeddedCertificates, hasSignature, parseXml, pemBody } from './saml-structure.js';

export const SAML_PATHS = {
  login: '/api/v1/auth/saml/login',
  acs: '/api/v1/auth/saml/acs',
  slo: '/api/v1/auth/saml/slo',
  metadata: '/api/v1/auth/saml/metadata',
} as const;

/** How long an AuthnRequest may wait for its answer. */
const REQUEST_TTL_MS = 10 * 60_000;
/** How long an assertion id is remembered when the assertion names no end of validity. */
const DEFAULT_ASSERTION_TTL_MS = 60 * 60_000;

/** What the SP keeps across requests, in the store, so every node of a cluster sees the same. */
export interface SamlMemory {
  /** Adds a key unless a live one exists; false when it does. */
  remember(key: string, value: string, expiresAt: number): Promise<boolean>;
  recall(key: string): Promise<string | undefined>;
  forget(key: string): Promise<void>;
}

/** A signed assertion that passed every check. */
export interface VerifiedAssertion {
  issuer: string;
  nameId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
  assertionId: string;
  /** Answered an AuthnRequest of ours (SP-initiated), or arrived unasked (IdP-initiated). */
  initiatedBy: 'sp' | 'idp';
  attributes: Record<string, unknown>;
}

export interface IdpLogoutRequest {
  requestId: string;
  issuer: string;
  nameId: string;
  nameIdFormat: string | null;
  sessionIndex: string | null;
  /** Where to send the browser with our LogoutResponse. */
  respond(relayState: string): Promise<string>;
}

type XmlJs = Record<string, XmlJsNode[] | undefined> & { $?: Record<string, string>; _?: string };
type XmlJsNode = XmlJs;

/**
 * The SAML 2.0 service provider: builds AuthnRequests and logout messages, and checks what the
 * IdP sends. Signature checking is node-saml's; around it this adds what node-saml leaves out —
 * Destination and Recipient, assertion replay across the cluster, a structural check that names
 * signature-wrapping attempts — and turns every failure into a typed reason.
 */
export class SamlServiceProvider {
  private saml: SAML | undefined;

  constructor(
    private readonly settings: SamlSettings,
    /** The public base URL; known only once the server listens (port 0 in tests). */
    private readonly baseUrl: () => string,
    private readonly memory: SamlMemory,
    private readonly now: () => number,
  ) {}

  get entityId(): string {
    return this.settings.spEntityId ?? this.url(SAML_PATHS.metadata);
  }

  get acsUrl(): string {
    return this.url(SAML_PATHS.acs);
  }

  get idpEntityId(): string {
    return this.settings.idpEntityId;
  }

  /** SP-initiated sign-in: the IdP URL with a fresh AuthnRequest (its id remembered for InResponseTo). */
  async loginUrl(relayState: string): Promise<string> {
    return this.sp().getAuthorizeUrlAsync(relayState, undefined, {});
  }

  metadata(): string {
    return this.sp().generateServiceProviderMetadata(null, this.settings.spCert ?? null);
  }

  /** Checks a Response posted to the ACS; throws SamlRefusal with the reason. */
  async verifyResponse(samlResponse: string): Promise<VerifiedAssertion> {
    const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
    const doc = parseXml(xml);
    const { root, assertion } = checkResponseShape(doc, this.settings.wantResponseSigned);
    const issuer = this.settings.idpEntityId;
    const seenKey = `assertion:${issuer}:${assertion.getAttribute('ID') ?? ''}`;
    // Checked before the signature only to name the refusal; the insert after it decides.
    if (await this.memory.recall(seenKey)) throw new SamlRefusal('replayed', 'this assertion was used already');

    let profile: Profile | null;
    try {
      ({ profile } = await this.sp().validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (err) {
      throw this.refusalFrom(err, doc);
    }
    if (!profile) throw new SamlRefusal('idp_error', 'the identity provider did not sign the user in');
    // node-saml compares the Issuer with idpIssuer only for logout messages.
    const responseIssuer = root.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Issuer')[0];
    const responseIssuerText = responseIssuer?.parentNode === root ? responseIssuer.textContent?.trim() : undefined;
    if (profile.issuer !== issuer || (responseIssuerText !== undefined && responseIssuerText !== issuer)) {
      throw new SamlRefusal('wrong_issuer', 'the response comes from another identity provider');
    }
    const destination = root.getAttribute('Destination');
    if (destination !== this.acsUrl) throw new SamlRefusal('wrong_destination', 'the response is addressed to another endpoint');
    const signed = (profile.getAssertion?.() as { Assertion: XmlJs }).Assertion;
    const data = this.bearerConfirmation(signed, profile.inResponseTo as string | undefined);
    if (!profile.inResponseTo && !this.settings.allowIdpInitiated) throw new SamlRefusal('unsolicited', 'sign-in must start at this service');

    const assertionId = signed.$?.ID;
    if (!assertionId) throw new SamlRefusal('malformed', 'the assertion has no ID');
    const ends = [signed.Conditions?.[0]?.$?.NotOnOrAfter, ...data.map((d) => d.NotOnOrAfter)].filter((t): t is string => !!t).map(Date.parse);
    const expiresAt = (ends.length > 0 ? Math.max(...ends) : this.now() + DEFAULT_ASSERTION_TTL_MS) + this.settings.acceptedClockSkewMs;
    if (!(await this.memory.remember(`assertion:${issuer}:${assertionId}`, 'seen', expiresAt))) throw new SamlRefusal('replayed', 'this assertion was used already');

    if (!profile.nameID) throw new SamlRefusal('malformed', 'the assertion names no subject');
    return {
      issuer: profile.issuer,
      nameId: profile.nameID,
      nameIdFormat: profile.nameIDFormat ?? null,
      sessionIndex: profile.sessionIndex ?? null,
      assertionId,
      initiatedBy: profile.inResponseTo ? 'sp' : 'idp',
      attributes: (profile.attributes as Record<string, unknown> | undefined) ?? {},
    };
  }

  /**
   * A LogoutRequest from the IdP, by HTTP-POST (signed XML) or HTTP-Redirect (signed query). An
   * unsigned one is refused: anyone could otherwise sign anyone out.
   */
  async verifyLogoutRequest(input: { body?: Record<string, string>; query?: ParsedQs; rawQuery?: string }): Promise<IdpLogoutRequest> {
    let profile: Profile | null;
    try {
      if (input.body?.SAMLRequest) {
        if (!hasSignature(parseXml(Buffer.from(input.body.SAMLRequest, 'base64').toString('utf8')))) throw new SamlRefusal('unsigned', 'the logout request is not signed');
        ({ profile } = await this.sp().validatePostRequestAsync({ SAMLRequest: input.body.SAMLRequest }));
      } else if (input.query?.SAMLRequest && input.rawQuery !== undefined) {
        if (!input.query.Signature) throw new SamlRefusal('unsigned', 'the logout request is not signed');
        ({ profile } = await this.sp().validateRedirectAsync(input.query, input.rawQuery));
      } else {
        throw new SamlRefusal('malformed', 'no SAMLRequest');
      }
    } catch (err) {
      throw err instanceof SamlRefusal ? err : this.refusalFrom(err, undefined);
    }
    if (!profile?.ID || !profile.nameID) throw new SamlRefusal('malformed', 'the logout request names no subject');
    if (!(await this.memory.remember(`logout:${profile.issuer}:${profile.ID}`, 'seen', this.now() + REQUEST_TTL_MS))) {
      throw new SamlRefusal('replayed', 'this logout request was used already');
    }
    const request = profile;
    return {
      requestId: profile.ID,
      issuer: profile.issuer,
      nameId: profile.nameID,
      nameIdFormat: profile.nameIDFormat ?? null,
      sessionIndex: profile.sessionIndex ?? null,
      respond: (relayState) => this.sp().getLogoutResponseUrlAsync(request, relayState, {}, true),
    };
  }

  /** The IdP's answer to our LogoutRequest (SP-initiated logout), by POST or Redirect. */
  async verifyLogoutResponse(input: { body?: Record<string, string>; query?: ParsedQs; rawQuery?: string }): Promise<void> {
    try {
      if (input.body?.SAMLResponse) {
        const { loggedOut } = await this.sp().validatePostResponseAsync({ SAMLResponse: input.body.SAMLResponse });
        if (!loggedOut) throw new SamlRefusal('malformed', 'not a logout response');
        // node-saml checks InResponseTo of a posted LogoutResponse only for the Redirect binding.
        const inResponseTo = parseXml(Buffer.from(input.body.SAMLResponse, 'base64').toString('utf8')).documentElement!.getAttribute('InResponseTo');
        if (!inResponseTo || !(await this.memory.recall(`request:${inResponseTo}`))) {
          throw new SamlRefusal('unknown_request', 'the logout response answers no logout request of this service');
        }
        await this.memory.forget(`request:${inResponseTo}`);
      } else if (input.query?.SAMLResponse && input.rawQuery !== undefined) {
        if (!input.query.Signature) throw new SamlRefusal('unsigned', 'the logout response is not signed');
        await this.sp().validateRedirectAsync(input.query, input.rawQuery);
      } else {
        throw new SamlRefusal('malformed', 'no SAMLResponse');
      }
    } catch (err) {
      throw err instanceof SamlRefusal ? err : this.refusalFrom(err, undefined);
    }
  }

  /** SP-initiated logout: the IdP URL with a LogoutRequest for the subject, or null when the IdP has no logout URL. */
  async logoutUrl(subject: { nameId: string; nameIdFormat: string | null; sessionIndex: string | null }, relayState: string): Promise<string | null> {
    if (!this.settings.idpSloUrl) return null;
    const profile: Profile = {
      issuer: this.settings.idpEntityId,
      nameID: subject.nameId,
      nameIDFormat: subject.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
      ...(subject.sessionIndex ? { sessionIndex: subject.sessionIndex } : {}),
    };
    return this.sp().getLogoutUrlAsync(profile, relayState, {});
  }

  /**
   * The Web SSO profile's bearer confirmation, which node-saml checks only in part: one meant for
   * our ACS (Recipient), current (NotOnOrAfter required), and, if it names the AuthnRequest it
   * answers, the one the Response answers (a Response stripped of InResponseTo cannot pass as
   * IdP-initiated when the signed assertion says otherwise).
   */
  private bearerConfirmation(signed: XmlJs, inResponseTo: string | undefined): Record<string, string>[] {
    const now = this.now();
    const skew = this.settings.acceptedClockSkewMs;
    const data = (signed.Subject?.[0]?.SubjectConfirmation ?? [])
      .filter((c) => c.$?.Method === 'urn:oasis:names:tc:SAML:2.0:cm:bearer')
      .map((c) => c.SubjectConfirmationData?.[0]?.$ ?? {});
    const ours = data.filter((d) => d.Recipient === this.acsUrl);
    if (ours.length === 0) throw new SamlRefusal('wrong_recipient', 'the assertion is meant for another recipient');
    const current = ours.filter((d) => !!d.NotOnOrAfter && Date.parse(d.NotOnOrAfter) > now - skew && (!d.NotBefore || Date.parse(d.NotBefore) <= now + skew));
    if (current.length === 0) throw new SamlRefusal('expired', 'the assertion is outside its validity period');
    if (!current.some((d) => !d.InResponseTo || d.InResponseTo === inResponseTo)) {
      throw new SamlRefusal('unknown_request', 'the assertion answers another sign-in than the response claims');
    }
    return current;
  }

  private refusalFrom(err: unknown, doc: Document | undefined): SamlRefusal {
    if (err instanceof SamlRefusal) return err;
    if (err instanceof SamlStatusError) return new SamlRefusal('idp_error', 'the identity provider answered with an error status');
    const message = err instanceof Error ? err.message : String(err);
    if (/signature/i.test(message)) {
      const trusted = new Set(this.settings.idpCerts.map(pemBody));
      const named = doc ? embeddedCertificates(doc) : [];
      if (named.some((cert) => !trusted.has(cert))) return new SamlRefusal('untrusted_key', 'signed by a key this service does not trust');
      if (/multiple assertions|too many/i.test(message)) return new SamlRefusal('signature_wrapping', 'the signature does not cover what it claims');
      return new SamlRefusal('tampered', 'the signature does not match the content');
    }
    if (/expired|not yet valid|no valid subject confirmation/i.test(message)) return new SamlRefusal('expired', 'the assertion is outside its validity period');
    if (/audience/i.test(message)) return new SamlRefusal('wrong_audience', 'the assertion is meant for another service');
    if (/issuer/i.test(message)) return new SamlRefusal('wrong_issuer', 'the message comes from another identity provider');
    if (/InResponseTo/i.test(message)) return new SamlRefusal('unknown_request', 'the response answers no pending sign-in of this service');
    return new SamlRefusal('malformed', 'the SAML message could not be read');
  }

  private url(path: string): string {
    return `${this.baseUrl().replace(/\/$/, '')}${path}`;
  }

  /** Built on first use: the callback URLs need the public URL, known once the server listens. */
  private sp(): SAML {
    this.saml ??= new SAML({
      callbackUrl: this.acsUrl,
      logoutCallbackUrl: this.url(SAML_PATHS.slo),
      issuer: this.entityId,
      audience: this.entityId,
      entryPoint: this.settings.idpSsoUrl,
      logoutUrl: this.settings.idpSloUrl ?? this.settings.idpSsoUrl,
      idpIssuer: this.settings.idpEntityId,
      idpCert: this.settings.idpCerts,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: this.settings.wantResponseSigned,
      acceptedClockSkewMs: this.settings.acceptedClockSkewMs,
      validateInResponseTo: ValidateInResponseTo.ifPresent,
      requestIdExpirationPeriodMs: REQUEST_TTL_MS,
      cacheProvider: this.requestCache(),
      identifierFormat: null,
      // Azure AD refuses a sign-in done with MFA or Windows auth when PasswordProtectedTransport is asked for.
      disableRequestedAuthnContext: true,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      ...(this.settings.spPrivateKey ? { privateKey: this.settings.spPrivateKey, publicCert: this.settings.spCert } : {}),
    });
    return this.saml;
  }

  /** node-saml's store of AuthnRequest ids awaiting an answer, kept in the store for the cluster. */
  private requestCache(): CacheProvider {
    const key = (id: string) => `request:${id}`;
    return {
      saveAsync: async (id, value) => {
        const createdAt = this.now();
        return (await this.memory.remember(key(id), value, createdAt + REQUEST_TTL_MS)) ? { value, createdAt } : null;
      },
      getAsync: async (id) => (await this.memory.recall(key(id))) ?? null,
      removeAsync: async (id) => {
        if (id === null) return null;
        const value = (await this.memory.recall(key(id))) ?? null;
        await this.memory.forget(key(id));
        return value;
      },
    };
  }
}
