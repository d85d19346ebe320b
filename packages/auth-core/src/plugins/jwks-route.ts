import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { readBearerToken } from '../bearer.js';
import { type DevIssuer, DevUserInfoError } from '../dev/dev-issuer.js';

export const DEV_JWKS_PLUGIN = '@prospectflow/auth-core/dev-jwks';

export interface DevJwksPluginOptions {
  issuer: DevIssuer;
  /** Default `/.well-known/jwks.json`. */
  path?: string;
  /**
   * Also serve the issuer's userInfo endpoint (Cognito's `/oauth2/userInfo`) at this path, for
   * services that set COGNITO_USERINFO_URL to it. Off by default (the API in dev mode answers
   * userInfo from memory and lists no such public route).
   */
  userInfoPath?: string;
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
  if (options.userInfoPath) {
    fastify.get(options.userInfoPath, { config: { auth: false } }, async (request, reply) => {
      reply.header('cache-control', 'no-store');
      try {
        return options.issuer.userInfo(readBearerToken(request.raw.rawHeaders, 16_384));
      } catch (error) {
        const refusal =
          error instanceof DevUserInfoError
            ? error
            : new DevUserInfoError(401, 'invalid_token', 'no bearer token');
        reply.header('www-authenticate', `error="${refusal.error}", error_description="${refusal.message}"`);
        return reply.code(refusal.status).send({ error: refusal.error });
      }
    });
  }
}

export const devJwksPlugin = fp(devJwks, { name: DEV_JWKS_PLUGIN, fastify: '5.x' });
