import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { DevIssuer } from '../dev/dev-issuer.js';

export const DEV_JWKS_PLUGIN = '@prospectflow/auth-core/dev-jwks';

export interface DevJwksPluginOptions {
  issuer: DevIssuer;
  /** Default `/.well-known/jwks.json`. */
  path?: string;
}

/** Serves the dev issuer's public keys (public route) so other services can use AUTH_JWKS_URL. */
async function devJwks(fastify: FastifyInstance, options: DevJwksPluginOptions) {
  const jwks = options.issuer.jwks();
  fastify.get(
    options.path ?? '/.well-known/jwks.json',
    { config: { auth: false } },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return jwks;
    },
  );
}

export const devJwksPlugin = fp(devJwks, { name: DEV_JWKS_PLUGIN, fastify: '5.x' });
