import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isAuthError } from '../errors.js';
import type { SessionService } from '../session-service.js';
import { AUTHENTICATE_PLUGIN } from './authenticate.js';
import { sendAuthProblem } from './request-auth.js';

export const SESSION_PLUGIN = '@prospectflow/auth-core/session';

export interface SessionPluginOptions {
  sessions: SessionService;
}

/**
 * `fastify.sessions`: SessionService's public methods, as a structural type rather than the class.
 * The published package has ESM and CJS declarations (index.d.ts, index.d.cts); a project with both
 * kinds of files loads both, and each augments Fastify. Two copies of a class with private members
 * are different types, so `sessions: SessionService` made the second augmentation an error
 * (TS2717) for any consumer without skipLibCheck; the two copies of this type are identical.
 */
export type SessionMethods = { [Key in keyof SessionService]: SessionService[Key] };

declare module 'fastify' {
  interface FastifyInstance {
    sessions: SessionMethods;
  }
}

/** Adds the caller's user id and memberships (Redis, else PostgreSQL) to `request.auth`. */
async function session(fastify: FastifyInstance, options: SessionPluginOptions) {
  const { sessions } = options;
  fastify.decorate('sessions', sessions);
  fastify.addHook('onRequest', async (request, reply) => {
    const auth = request.auth;
    if (!auth) return;
    try {
      const loaded = await sessions.getSession(auth.token, request.log);
      auth.session = loaded;
      auth.userId = loaded.userId;
    } catch (error) {
      if (!isAuthError(error)) throw error;
      return sendAuthProblem(reply, error, fastify.tokenVerifier.config.realm);
    }
  });
}

export const sessionPlugin = fp(session, {
  name: SESSION_PLUGIN,
  fastify: '5.x',
  dependencies: [AUTHENTICATE_PLUGIN],
});
