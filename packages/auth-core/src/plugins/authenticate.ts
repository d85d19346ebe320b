import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { readBearerToken } from '../bearer.js';
import { isAuthError } from '../errors.js';
import { appendVary } from '../vary.js';
import type { TokenVerifier } from '../verifier.js';
import { isPreflight, isPublicRoute, type RequestAuth, sendAuthProblem } from './request-auth.js';

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
}

export const authenticatePlugin = fp(authenticate, { name: AUTHENTICATE_PLUGIN, fastify: '5.x' });
