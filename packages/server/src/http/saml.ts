import { DeviceEnrolment, LoginResult, SotongError } from '@sotong/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services/dispatch.js';
import type { SsoService } from '../services/sso.js';
import { mapAttributes } from '../sso/saml-mapping.js';
import { SamlRefusal } from '../sso/saml-refusal.js';
import type { SamlSettings } from '../sso/saml-settings.js';
import { SAML_PATHS, type SamlServiceProvider } from '../sso/saml-sp.js';
import { API_PREFIX, errorResponses } from './api.js';
import { authenticateRequest } from './device-auth.js';

export interface SamlHttpDeps {
  sp: SamlServiceProvider;
  sso: SsoService;
  settings: SamlSettings;
  /** The public base URL, known once the server listens. */
  baseUrl(): string;
}

const tags = ['sso'];
const samlMessage = z.object({ SAMLResponse: z.string().max(1_000_000).optional(), SAMLRequest: z.string().max(1_000_000).optional(), RelayState: z.string().max(2048).optional() });

/**
 * SAML 2.0 endpoints. The ACS and the logout endpoint face the browser (form posts and redirects);
 * the code exchange and the logout call face the app (JSON). A refusal answers the typed error as
 * JSON, or, to a browser asking for HTML, redirects to the app with `?error=<reason>`.
 */
export async function registerSamlApi(app: FastifyInstance, services: Services, deps: SamlHttpDeps): Promise<void> {
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });
    const api = scope.withTypeProvider<ZodTypeProvider>();
    const { sp, sso, settings } = deps;
    const toApp = (query: string) => `${deps.baseUrl().replace(/\/$/, '')}${settings.webRedirect}${settings.webRedirect.includes('?') ? '&' : '?'}${query}`;
    const rawQuery = (request: FastifyRequest) => request.url.split('?')[1] ?? '';
    const fail = (request: FastifyRequest, reply: FastifyReply, err: SotongError) => {
      const reason = (err.details as { reason?: string } | undefined)?.reason ?? err.code;
      if ((request.headers.accept ?? '').includes('text/html')) return reply.redirect(toApp(`error=${encodeURIComponent(reason)}`), 303);
      return reply.status(401).send(err.toBody());
    };

    api.get(SAML_PATHS.metadata, { schema: { tags, summary: 'SAML service provider metadata (entity id, ACS and logout URLs, signing certificate)' } }, async (_request, reply) => {
      return reply.type('application/samlmetadata+xml').send(sp.metadata());
    });

    api.get(SAML_PATHS.login, { schema: { tags, summary: 'Start SP-initiated sign-in: redirects the browser to the identity provider' } }, async (_request, reply) => {
      return reply.redirect(await sp.loginUrl(''), 302);
    });

    api.post(
      SAML_PATHS.acs,
      { schema: { tags, summary: 'Assertion consumer service (HTTP-POST binding); redirects to the app with a one-time code', body: samlMessage } },
      async (request, reply) => {
        const origin = { address: request.ip };
        if (!request.body.SAMLResponse) return fail(request, reply, await sso.refuse(new SamlRefusal('malformed', 'no SAMLResponse'), origin, {}));
        try {
          const assertion = await sp.verifyResponse(request.body.SAMLResponse);
          const code = await sso.signIn(assertion, mapAttributes(assertion.attributes, assertion.nameId, settings), origin);
          return reply.redirect(toApp(`code=${encodeURIComponent(code)}`), 303);
        } catch (err) {
          if (err instanceof SamlRefusal) return fail(request, reply, await sso.refuse(err, origin, { issuer: sp.idpEntityId }));
          if (err instanceof SotongError && err.code === 'unauthenticated') return fail(request, reply, err);
          throw err;
        }
      },
    );

    /** Single logout: a LogoutRequest from the IdP, or the IdP's answer to ours; Redirect or POST binding. */
    const slo = async (request: FastifyRequest<{ Body: z.infer<typeof samlMessage> | undefined; Querystring: Record<string, string> }>, reply: FastifyReply) => {
      const origin = { address: request.ip };
      const message = { ...(request.body ? { body: request.body as Record<string, string> } : {}), query: request.query, rawQuery: rawQuery(request) };
      try {
        if (request.body?.SAMLRequest || request.query.SAMLRequest) {
          const logout = await sp.verifyLogoutRequest(message);
          await sso.endSessionsOfSubject(logout.issuer, logout.nameId, origin);
          return reply.redirect(await logout.respond(request.body?.RelayState ?? request.query.RelayState ?? ''), 302);
        }
        await sp.verifyLogoutResponse(message);
        return reply.redirect(toApp('loggedOut=1'), 303);
      } catch (err) {
        if (err instanceof SamlRefusal) return fail(request, reply, await sso.refuse(err, origin, { issuer: sp.idpEntityId }));
        throw err;
      }
    };
    api.get(SAML_PATHS.slo, { schema: { tags, summary: 'Single logout (HTTP-Redirect binding)', querystring: samlMessage.passthrough() } }, slo);
    api.post(SAML_PATHS.slo, { schema: { tags, summary: 'Single logout (HTTP-POST binding)', body: samlMessage } }, slo);

    api.post(
      `${API_PREFIX}/auth/saml/logout`,
      {
        schema: {
          tags,
          summary: "Sign out everywhere; answers the IdP's logout URL to send the browser to (null when the user did not come by SSO or the IdP has no logout URL)",
          security: [{ bearer: [] }],
          response: { 200: z.object({ redirect: z.string().nullable() }), ...errorResponses },
        },
      },
      async (request) => {
        const { actor } = await authenticateRequest(services, request);
        const identity = await sso.logout(actor, { address: request.ip });
        return { redirect: identity ? await sp.logoutUrl(identity, '') : null };
      },
    );

    api.get(
      `${API_PREFIX}/admin/users/:userId/sso`,
      {
        schema: {
          tags: ['admin'],
          summary: "A user's SSO identities with the attributes the IdP last asserted (email, name, department, title, groups, role)",
          security: [{ bearer: [] }],
          params: z.object({ userId: z.string().min(1).max(64) }),
          response: {
            200: z.object({
              identities: z.array(
                z.object({
                  issuer: z.string(),
                  nameId: z.string(),
                  lastSeenAt: z.number(),
                  attributes: z.object({
                    email: z.string(),
                    displayName: z.string(),
                    department: z.string().nullable(),
                    title: z.string().nullable(),
                    groups: z.array(z.string()),
                    role: z.string().nullable(),
                  }),
                }),
              ),
            }),
            ...errorResponses,
          },
        },
      },
      async (request) => {
        const { actor } = await authenticateRequest(services, request);
        return { identities: await sso.identitiesOf(actor, request.params.userId) };
      },
    );

    api.post(
      `${API_PREFIX}/auth/sso/exchange`,
      {
        schema: {
          tags,
          summary: 'Trade the one-time code from the SSO redirect for a session of this device (or the second sign-in step, or the device pending approval)',
          body: z.object({ code: z.string().min(1).max(128), device: DeviceEnrolment.optional() }),
          response: { 200: LoginResult, ...errorResponses },
        },
      },
      async (request) => sso.exchange(request.body.code, { address: request.ip, device: request.body.device }),
    );
  });
}
