import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthSession, OrganisationScope, Role } from '../contracts.js';
import type { AuthError } from '../errors.js';
import type { VerifiedToken } from '../verified-token.js';

/** `request.auth`: filled step by step by the authenticate → session → organisationScope hooks. */
export interface RequestAuth {
  token: VerifiedToken;
  /** Cognito `sub` (the verified token's subject). */
  sub: string;
  /** Set by the `session` plugin. */
  session: AuthSession | null;
  /** `iam.users.id`; set by the `session` plugin. */
  userId: string | null;
  /** Set by the `organisationScope` plugin on scoped routes. */
  organisation: OrganisationScope | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** null on public routes (`config: { auth: false }`). */
    auth: RequestAuth | null;
  }
  interface FastifyContextConfig {
    /** `false` makes the route public; every other route needs a valid bearer token. */
    auth?: false;
    /** `false` exempts an authenticated route from the organisation scope of its context. */
    organisation?: false;
    /**
     * Lowest organisation role that may call the route (viewer < member < admin < owner). The
     * organisation scope refuses lower roles with 403 `insufficient_role` before the body is read.
     */
    role?: Role;
  }
}

export function isPublicRoute(request: FastifyRequest): boolean {
  return request.routeOptions.config?.auth === false;
}

/**
 * CORS preflights carry no credentials; let them through to the CORS plugin (its catch-all
 * `OPTIONS *` route) or to the 404. An `OPTIONS` handler the app declared itself (`fastify.all`,
 * `method: ['GET', 'OPTIONS']`…) is not a preflight answer: it stays behind authentication.
 */
export function isPreflight(request: FastifyRequest): boolean {
  if (request.method !== 'OPTIONS' || request.headers['access-control-request-method'] === undefined)
    return false;
  const route = request.routeOptions.url;
  return route === undefined || route === '*';
}

/** Writes an AuthError as RFC 9457 problem+json with its RFC 6750 challenge. */
export function sendAuthProblem(reply: FastifyReply, error: AuthError, realm: string): FastifyReply {
  const challenge = error.wwwAuthenticate(realm);
  if (challenge) reply.header('www-authenticate', challenge);
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  reply.header('cache-control', 'no-store');
  return reply
    .code(error.status)
    .type('application/problem+json')
    .send(error.toProblem(String(reply.request.id)));
}

/** `request.auth` of an authenticated request; throws on public routes (a programming error). */
export function requireAuth(request: FastifyRequest): RequestAuth {
  if (!request.auth)
    throw new Error('request.auth is empty: the route is public or authenticate is not registered');
  return request.auth;
}
