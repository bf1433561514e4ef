import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Services } from '../services/dispatch.js';
import type { FileService } from '../services/files.js';
import type { StoreProvider } from '../store/store.js';
import { registerAdminIdentityApi } from './admin-identity.js';
import { registerDirectoryApi } from './directory.js';
import { registerFirstRunApi } from './first-run.js';
import { serverTlsOptions, type TlsMaterial } from '../transports/tls.js';
import { registerMfaApi } from './mfa.js';
import { registerDeviceApi } from './devices.js';
import { registerSamlApi, type SamlHttpDeps } from './saml.js';
import { registerPasskeyApi } from './passkeys.js';
import type { PasskeyService } from '../services/passkeys.js';
import { API_PREFIX, authenticator, registerApi } from './api.js';
import { installErrorHandling } from './errors.js';
import { registerFileRoutes } from './files.js';
import { registerTusUploads, type TusOptions } from './uploads.js';
import { registerSignInMethods } from './sign-in-methods.js';
import { registerWebApp } from './web.js';

export interface HttpDeps {
  services: Services;
  files: FileService;
  passkeys: PasskeyService;
  uploads: TusOptions;
  store: StoreProvider;
  metrics: Metrics;
  log: Logger;
  bodyLimit: number;
  /** HTTPS (and so WSS) with this certificate; plain HTTP without. */
  tls?: TlsMaterial;
  hstsMaxAgeSeconds?: number;
  /** The built web client, served at `/`. */
  webDir: string;
  /** SAML single sign-on, when configured. */
  saml?: SamlHttpDeps;
  /** Refreshes gauges that are read off live state rather than counted. */
  beforeScrape(): void;
}

export async function createHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  // The HTTPS instance's types differ only in the raw server; routes and hooks are the same.
  const app = Fastify({
    ...(deps.tls ? { https: serverTlsOptions(deps.tls) } : {}),
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: deps.bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w-]{1,64}$/.test(given) ? given : randomUUID();
    },
  }) as unknown as FastifyInstance;
  if (deps.tls && deps.hstsMaxAgeSeconds) {
    const hsts = `max-age=${deps.hstsMaxAgeSeconds}; includeSubDomains`;
    app.addHook('onRequest', async (_request, reply) => {
      void reply.header('strict-transport-security', hsts);
    });
  }
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Refusals of security-relevant actions on routes outside the command table are audited here.
  installErrorHandling(app, (err, address) => deps.services.accounts.recordRefusal(err, address));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Sotong API', version: '1.0.0', description: 'REST face of the Sotong protocol; the same commands run over the WebSocket at /ws.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token, always with a Sotong-Device-Proof header signed by its device (docs/identity.md)' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await deps.store.ping();
      return { status: 'ready' };
    } catch (err) {
      deps.log.warn({ err }, 'store not reachable');
      return reply.status(503).send({ code: 'unavailable', message: 'store not reachable' });
    }
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    deps.beforeScrape();
    void reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  await registerApi(app, deps.services);
  await registerMfaApi(app, deps.services, authenticator(deps.services));
  await registerDirectoryApi(app, deps.services, authenticator(deps.services));
  await registerDeviceApi(app, deps.services, authenticator(deps.services));
  if (deps.saml) await registerSamlApi(app, deps.services, deps.saml);
  await registerSignInMethods(app, { saml: deps.saml !== undefined });
  await registerAdminIdentityApi(app, deps.services, authenticator(deps.services), deps.saml);
  await registerFirstRunApi(app, deps.services);
  await registerPasskeyApi(app, deps.passkeys, authenticator(deps.services));
  await registerFileRoutes(app, deps.services, deps.files);
  await registerTusUploads(app, deps.services, deps.files, deps.uploads);
  app.get(`${API_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => app.swagger());
  await registerWebApp(app, deps.webDir, deps.log);
  return app;
}
