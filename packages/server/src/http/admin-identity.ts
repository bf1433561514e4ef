import { Device } from '@sotong/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../services/dispatch.js';
import { assertCan } from '../services/permissions.js';
import type { SamlSettings } from '../sso/saml-settings.js';
import { SAML_PATHS, type SamlServiceProvider } from '../sso/saml-sp.js';
import { API_PREFIX, errorResponses } from './api.js';

const admin = { tags: ['admin'], security: [{ bearer: [] }] };

const IdentityStatus = z.object({
  /** Whether a directory (LDAP / AD) is configured; its sync status is at /admin/directory. */
  directory: z.boolean(),
  saml: z
    .object({
      idpEntityId: z.string(),
      idpSsoUrl: z.string(),
      spEntityId: z.string(),
      /** Where the IdP's administrator fetches this service provider's metadata. */
      metadataUrl: z.string(),
    })
    .nullable(),
});

/**
 * Read-only identity status for workspace admins: whether a directory is configured, how single
 * sign-on is set up (configuration, not secrets), and the devices waiting for approval under the device policy.
 */
export async function registerAdminIdentityApi(
  app: FastifyInstance,
  services: Services,
  authenticate: (request: FastifyRequest) => Promise<void>,
  saml: { sp: SamlServiceProvider; settings: SamlSettings } | undefined,
): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    `${API_PREFIX}/admin/identity`,
    {
      preHandler: authenticate,
      schema: { ...admin, summary: 'Where people and sign-ins come from: whether a directory is configured, and SAML as configured (null when off)', response: { 200: IdentityStatus, ...errorResponses } },
    },
    async (request) => {
      const actor = request.actor!;
      assertCan(actor, 'workspace.policy', { kind: 'workspace', workspaceId: actor.workspaceId });
      const directory = services.directory !== undefined;
      if (!saml) return { directory, saml: null };
      return { directory, saml: { idpEntityId: saml.sp.idpEntityId, idpSsoUrl: saml.settings.idpSsoUrl, spEntityId: saml.sp.entityId, metadataUrl: SAML_PATHS.metadata } };
    },
  );

  api.get(
    `${API_PREFIX}/admin/devices/pending`,
    { preHandler: authenticate, schema: { ...admin, summary: 'Devices of the workspace waiting for approval, oldest first', response: { 200: z.object({ devices: z.array(Device) }), ...errorResponses } } },
    async (request) => ({ devices: await services.accounts.devices.pending(request.actor!) }),
  );
}
