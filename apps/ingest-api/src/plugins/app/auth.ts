import {
  type AuthServices,
  authenticatePlugin,
  createAuthServices,
  devJwksPlugin,
  organisationScopePlugin,
  sessionPlugin,
} from '@prospectflow/auth-core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppOptions } from '../../app.js';
import { invitationsRepository } from '../../repositories/organisations/invitations.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** auth-core's services: `sessions.invalidate(userId)` after membership changes, `devIssuer` in dev. */
    authServices: AuthServices;
  }
}

/**
 * auth-core on every route (deny by default): authenticate (onRequest, before bodies are read) →
 * session (user id + memberships) → organisation scope (x-organisation-id, then the handler runs
 * inside tenant-context). Routes opt out with `config: { auth: false }` (public, listed) or
 * `config: { organisation: false }` (authenticated, no organisation).
 */
async function auth(fastify: FastifyInstance, opts: AppOptions) {
  const invitations = invitationsRepository(fastify.db, { ttlDays: opts.config.invitationTtlDays });
  const services = createAuthServices({
    db: fastify.db.pool,
    env: opts.config.env,
    logger: fastify.log,
    ...(opts.authKeyPrefix ? { keyPrefix: opts.authKeyPrefix } : {}),
    // Membership by invitation: whenever a session is read from PostgreSQL (first sign-in
    // included), open invitations addressed to the user's verified email become memberships,
    // before the memberships are read. The session being built is fresh, so nothing to invalidate.
    onUserSynced: async (userId) => {
      await invitations.acceptAllOpen(userId);
    },
  });
  fastify.decorate('authServices', services);
  fastify.addHook('onClose', async () => {
    await services.close();
  });

  await fastify.register(authenticatePlugin, { verifier: services.verifier });
  await fastify.register(sessionPlugin, { sessions: services.sessions });
  await fastify.register(organisationScopePlugin, {});
  if (services.devIssuer) {
    fastify.log.warn('AUTH_MODE=dev: tokens signed by the local dev key are accepted');
    await fastify.register(devJwksPlugin, { issuer: services.devIssuer });
  }
}

// After rate-limit: its check of an address's refused requests (401/403) runs before a token is verified.
export default fp(auth, {
  name: 'auth',
  fastify: '5.x',
  dependencies: ['db', 'request-context', 'rate-limit'],
});
