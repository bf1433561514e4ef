import { readFileSync } from 'node:fs';
import { z } from 'zod';

const pem = z
  .string()
  .min(1)
  .transform((value, ctx) => {
    // A PEM block as such, or the path of a file holding one.
    if (value.includes('-----BEGIN')) return value;
    try {
      return readFileSync(value, 'utf8');
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a PEM block and not a readable file: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

const role = z.enum(['admin', 'member', 'guest']);

/** The SAML 2.0 single sign-on settings: one identity provider for the workspace. */
export const SamlSettings = z
  .object({
    /** The IdP's single sign-on URL (HTTP-Redirect binding). */
    idpSsoUrl: z.url(),
    /** The IdP's single logout URL; without it, logout ends only Sotong's sessions. */
    idpSloUrl: z.url().optional(),
    /** The IdP's entity id: the Issuer every response and assertion must carry. */
    idpEntityId: z.string().min(1),
    /** Certificates whose keys may sign for the IdP (PEM, or a file path); several while rolling keys. */
    idpCerts: z.array(pem).min(1),
    /** This service provider's entity id (the Audience). Default: the metadata URL. */
    spEntityId: z.string().min(1).optional(),
    /** Key and certificate to sign AuthnRequests and logout messages (PEM or file path); IdPs that want signed requests need them. */
    spPrivateKey: pem.optional(),
    spCert: pem.optional(),
    /** The whole Response must be signed as well as the Assertion (Azure AD signs only the Assertion unless told). */
    wantResponseSigned: z.boolean().default(true),
    acceptedClockSkewMs: z.number().int().min(0).max(300_000).default(60_000),
    /** Attribute names in the assertion; `email` falls back to the NameID when it looks like an address. */
    attributes: z
      .object({
        email: z.string().min(1).default('email'),
        displayName: z.string().min(1).default('displayName'),
        department: z.string().min(1).default('department'),
        title: z.string().min(1).default('title'),
        groups: z.string().min(1).default('groups'),
      })
      .prefault({}),
    /** Group value → workspace role; the highest mapped role wins. Empty: roles are not managed by the IdP. */
    groupRoles: z.record(z.string().min(1), role).default({}),
    /** Role of a provisioned user when no group maps (and of a managed user who lost every mapped group). */
    defaultRole: role.default('member'),
    /** Create unknown users at their first sign-in. Off: only existing accounts (matched by email) may sign in. */
    provisionUsers: z.boolean().default(true),
    /** Accept responses no AuthnRequest of ours asked for (IdP-initiated, from the IdP's app portal). Off: only SP-initiated sign-in. */
    allowIdpInitiated: z.boolean().default(true),
    /** The IdP's own MFA counts: Sotong asks no second factor after SSO. Off: TOTP and the 2FA policy apply as after a password. */
    trustIdpMfa: z.boolean().default(true),
    /** Where the browser lands after the ACS, relative to the public URL; `code` or `error` is appended as a query. */
    webRedirect: z.string().regex(/^\/[^\s]*$/, 'a path starting with /').default('/#/sso'),
    /** Lifetime of the one-time code in that redirect. */
    codeTtlMs: z.number().int().min(1_000).max(300_000).default(60_000),
  })
  .refine((s) => (s.spPrivateKey === undefined) === (s.spCert === undefined), 'spPrivateKey and spCert go together');
export type SamlSettings = z.output<typeof SamlSettings>;

/** The `saml` setting: a JSON object in SOTONG_SAML (or the config file); unset turns SSO off. */
export const samlSetting = z
  .union([z.string(), z.record(z.string(), z.unknown())])
  .optional()
  .transform((value, ctx) => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not valid JSON' });
      return z.NEVER;
    }
  })
  .pipe(SamlSettings.optional());
