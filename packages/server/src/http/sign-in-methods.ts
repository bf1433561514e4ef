import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { SignInMethods } from '@sotong/protocol';
import { SAML_PATHS } from '../sso/saml-sp.js';
import { API_PREFIX } from './api.js';

/**
 * Public: how one can sign in here, so a sign-in screen shows the SSO button only when SAML is
 * configured. Says nothing about any account.
 */
export async function registerSignInMethods(app: FastifyInstance, options: { saml: boolean }): Promise<void> {
  const methods: SignInMethods = { password: true, passkey: true, saml: options.saml ? { loginUrl: SAML_PATHS.login } : null };
  app.withTypeProvider<ZodTypeProvider>().get(
    `${API_PREFIX}/auth/methods`,
    { schema: { tags: ['auth'], summary: 'How one can sign in: password, passkeys, and SAML single sign-on when configured (its start URL)', response: { 200: SignInMethods } } },
    async () => methods,
  );
}
