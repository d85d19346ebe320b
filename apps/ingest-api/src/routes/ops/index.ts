import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProblemError } from '../../lib/problem.js';
import { sendProblem } from '../../lib/problem-handler.js';

/** Operations endpoints live at the root (/health, not /ops/health). */
export const prefixOverride = '';

const CHECK_TIMEOUT_MS = 1500;

type CheckResult = { ok: true; ms: number } | { ok: false; ms: number; error: string };

async function timed(check: () => Promise<unknown>): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false, ms: Math.round(performance.now() - started), error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const publicOps = { auth: false, rateLimit: false } as const;

const ops: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/health',
    {
      config: publicOps,
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers (no dependency is checked)',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  fastify.get(
    '/ready',
    {
      config: publicOps,
      schema: {
        tags: ['operations'],
        summary:
          'Readiness: 503 when PostgreSQL fails; Redis down is 200 "degraded" (the API runs without it)',
        response: {
          200: Type.Object({
            status: Type.Union([Type.Literal('ready'), Type.Literal('degraded')]),
            checks: Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), ms: Type.Number() })),
            degraded: Type.Optional(Type.Array(Type.String())),
          }),
        },
      },
    },
    async (request, reply) => {
      const checks: Record<string, CheckResult> = {
        database: await timed(() => fastify.db.ping()),
      };
      if (fastify.redis) {
        const redis = fastify.redis;
        checks.redis = await timed(() => redis.ping());
      }
      // Only the database makes the API unable to serve; without Redis the rate limiter fails open
      // and sessions fall back to PostgreSQL, so taking the pod out of rotation would only hurt.
      const failed = Object.entries(checks).filter(([name, result]) => !result.ok && name === 'database');
      const degraded = Object.entries(checks)
        .filter(([name, result]) => !result.ok && name !== 'database')
        .map(([name]) => name);
      for (const name of degraded)
        request.log.warn({ check: name, result: checks[name] }, 'readiness degraded');
      if (failed.length > 0) {
        for (const [name, result] of failed)
          request.log.warn({ check: name, result }, 'readiness check failed');
        return sendProblem(
          request,
          reply,
          new ProblemError(
            503,
            'not_ready',
            `Not ready: ${failed.map(([name]) => name).join(', ')} unavailable.`,
            {
              extensions: {
                failed: failed.map(([name]) => name),
                checks: Object.fromEntries(
                  Object.entries(checks).map(([n, r]) => [n, { ok: r.ok, ms: r.ms }]),
                ),
              },
              headers: { 'retry-after': '5' },
            },
          ),
        );
      }
      if (degraded.length > 0) return { status: 'degraded' as const, checks, degraded };
      return { status: 'ready' as const, checks };
    },
  );

  fastify.get(
    '/metrics',
    {
      config: publicOps,
      schema: { tags: ['operations'], summary: 'Prometheus metrics (keep it off the public ingress)' },
    },
    async (_request, reply) => {
      reply.type(fastify.metrics.contentType);
      return await fastify.metrics.metrics();
    },
  );

  fastify.get(
    '/openapi.json',
    {
      config: publicOps,
      schema: { tags: ['operations'], summary: 'OpenAPI 3.1 description of every route' },
    },
    async () => fastify.swagger(),
  );
};

export default ops;
