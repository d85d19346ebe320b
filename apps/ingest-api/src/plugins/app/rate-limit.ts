import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AppOptions } from '../../app.js';
import { ProblemError } from '../../lib/problem.js';

/** Per user and organisation once authenticated (so one tenant cannot starve another), else per IP. */
export function rateLimitKey(request: FastifyRequest): string {
  const auth = request.auth;
  if (!auth) return `ip:${request.ip}`;
  const organisation = auth.organisation?.organisationId ?? '-';
  return `u:${auth.userId ?? auth.sub}:o:${organisation}`;
}

/** The bucket of a client address's refused requests (401/403/400 before the body is read). */
export function refusedKey(request: FastifyRequest): string {
  return `refused:ip:${request.ip}`;
}

/** Routes behind authentication that the limiter covers (public routes keep their per-IP limit). */
function guarded(request: FastifyRequest): boolean {
  const config = request.routeOptions.config;
  if (config?.auth === false || config?.rateLimit === false) return false;
  // CORS preflights carry no credentials and are answered before authentication.
  return !(request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined);
}

/**
 * A refusal answered before the body is read (onRequest): 401, 403, a 400 on the organisation
 * header (malformed, missing)… Not 429, the limiters' own answer.
 */
function refusedEarly(status: number): boolean {
  return status >= 400 && status < 500 && status !== 429;
}

function retryAfterSeconds(ttlMs: number): string {
  return String(Math.max(1, Math.ceil(ttlMs / 1000)));
}

/**
 * Two budgets, the same size (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS):
 * - requests that pass authentication and the organisation scope count per user and organisation
 *   (the limiter runs in preParsing, once the caller is known and before the body is read, so a
 *   request that then fails validation with 400 or 413 counts as well);
 * - requests refused before that — 401 (no or bad token), 403 (not a member, role too low), 400
 *   (organisation header malformed or missing), answered in onRequest so never seen by the first
 *   limiter — count per client IP. Once an
 *   address is over, every authenticated route answers it 429 before its token is even verified,
 *   so guessing tokens or probing organisations stops there (fastify.createRateLimit: a peek
 *   before authentication, a count on each refusal, as its docs describe for failed logins).
 * Unknown paths (the 404 handler) spend the first budget too. Public routes (/u/…, /t/…,
 * webhooks) keep the per-IP limit; probes opt out (`rateLimit: false`).
 */
async function rateLimitPlugin(fastify: FastifyInstance, opts: AppOptions) {
  const { config } = opts;
  await fastify.register(rateLimit, {
    global: true,
    // After authentication and the organisation scope (onRequest), so the key knows the caller;
    // before the body is read and validated, so malformed or invalid requests spend the budget too.
    hook: 'preParsing',
    max: config.rateLimitMax,
    timeWindow: config.rateLimitWindowMs,
    keyGenerator: rateLimitKey,
    ...(fastify.redis ? { redis: fastify.redis, nameSpace: config.rateLimitNamespace } : {}),
    // Redis trouble must not take the API down with it: fail open (logged by the redis plugin).
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      new ProblemError(429, 'rate_limited', `Too many requests; retry in ${context.after}.`, {
        headers: { 'retry-after': retryAfterSeconds(context.ttl) },
      }),
  });

  const refusals = fastify.createRateLimit({ keyGenerator: refusedKey });
  /** Requests that got past the onRequest hooks (authentication, organisation scope, role). */
  const passed = new WeakSet<FastifyRequest>();

  // This plugin is registered before auth (auth depends on it), so this hook runs before the
  // token is verified.
  fastify.addHook('onRequest', async (request) => {
    if (!guarded(request)) return;
    const status = await refusals(request, { increment: false });
    if (!status.isAllowed && status.remaining === 0) {
      throw new ProblemError(
        429,
        'rate_limited',
        `Too many refused requests (401/403/400) from this address; retry in ${retryAfterSeconds(status.ttl)} s.`,
        { headers: { 'retry-after': retryAfterSeconds(status.ttl) } },
      );
    }
  });
  // The 404 handler (an unknown path or method) is not a route, so the
  // limiter above never sees it; a signed-in caller's requests there spend the same budget.
  const limitUnrouted = fastify.rateLimit();
  fastify.addHook('preParsing', async (request, reply) => {
    passed.add(request);
    if (request.is404 && guarded(request)) await limitUnrouted.call(fastify, request, reply);
  });
  fastify.addHook('onSend', async (request, reply) => {
    if (refusedEarly(reply.statusCode) && !passed.has(request) && guarded(request)) {
      await refusals(request);
    }
  });
}

export default fp(rateLimitPlugin, {
  name: 'rate-limit',
  fastify: '5.x',
  // Not 'auth': auth depends on this plugin, so the refusal check above runs before it.
  dependencies: ['redis'],
});
