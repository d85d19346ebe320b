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

async function rateLimitPlugin(fastify: FastifyInstance, opts: AppOptions) {
  const { config } = opts;
  await fastify.register(rateLimit, {
    global: true,
    // After authentication and the organisation scope, so the key knows the caller.
    hook: 'preHandler',
    max: config.rateLimitMax,
    timeWindow: config.rateLimitWindowMs,
    keyGenerator: rateLimitKey,
    ...(fastify.redis ? { redis: fastify.redis, nameSpace: config.rateLimitNamespace } : {}),
    // Redis trouble must not take the API down with it: fail open (logged by the redis plugin).
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      new ProblemError(429, 'rate_limited', `Too many requests; retry in ${context.after}.`, {
        headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
      }),
  });
}

export default fp(rateLimitPlugin, {
  name: 'rate-limit',
  fastify: '5.x',
  dependencies: ['redis', 'auth'],
});
