import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { readBearerToken } from '../bearer.js';
import { isAuthError } from '../errors.js';
import { appendVary } from '../vary.js';
import type { TokenVerifier } from '../verifier.js';
import { isPreflight, isPublicRoute, type RequestAuth, sendAuthProblem } from './request-auth.js';
import { insufficientRole } from './require-role.js';

export const AUTHENTICATE_PLUGIN = '@prospectflow/auth-core/authenticate';

export interface AuthenticatePluginOptions {
  verifier: TokenVerifier;
  /** Load the signing keys in `onReady` (default true). Failure is logged, not fatal. */
  hydrate?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    tokenVerifier: TokenVerifier;
  }
}

/**
 * Verifies the bearer token of every route in `onRequest` (before any body is read) and sets
 * `request.auth`. Deny by default: only `config: { auth: false }` routes and CORS preflights pass
 * without a token.
 */
async function authenticate(fastify: FastifyInstance, options: AuthenticatePluginOptions) {
  const { verifier } = options;
  const { realm, maxTokenLength } = verifier.config;
  fastify.decorate('tokenVerifier', verifier);
  fastify.decorateRequest('auth', null);

  if (options.hydrate !== false) {
    fastify.addHook('onReady', async () => {
      const ok = await verifier.hydrate();
      if (ok) fastify.log.info('JWKS loaded');
    });
  }

  fastify.addHook('onRequest', async (request, reply) => {
    if (isPublicRoute(request) || isPreflight(request)) return;
    appendVary(reply, 'Authorization');
    try {
      const token = await verifier.verify(readBearerToken(request.raw.rawHeaders, maxTokenLength));
      const auth: RequestAuth = { token, sub: token.sub, session: null, userId: null, organisation: null };
      request.auth = auth;
    } catch (error) {
      if (!isAuthError(error)) throw error;
      request.log[error.status >= 500 ? 'error' : 'info'](
        { code: error.code, err: error.cause },
        'authentication failed',
      );
      return sendAuthProblem(reply, error, realm);
    }
  });

  // A route's `config.role` is checked per organisation, by organisationScope. Declared where no
  // organisation is chosen it would let anyone signed in through, so it fails closed: at
  // registration when the route opts out of the token or the organisation, and on every request
  // when no organisationScope of its context checked it.
  fastify.addHook('onRoute', (route) => {
    const config = route.config;
    if (config?.role !== undefined && (config.auth === false || config.organisation === false))
      throw new Error(
        `${String(route.method)} ${route.url}: config.role is checked per organisation; it cannot go with auth: false or organisation: false`,
      );
  });
  fastify.addHook('preHandler', async (request, reply) => {
    const required = request.routeOptions.config?.role;
    if (required === undefined || request.auth?.organisation || isPreflight(request)) return;
    request.log.error(
      { requiredRole: required },
      'route declares a role but no organisationScope checked it: refused (register organisationScopePlugin in its context)',
    );
    return sendAuthProblem(reply, insufficientRole(required), realm);
  });
}

export const authenticatePlugin = fp(authenticate, { name: AUTHENTICATE_PLUGIN, fastify: '5.x' });
