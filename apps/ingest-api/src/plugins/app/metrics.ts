import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus registry of this instance; route owners may register their own metrics on it. */
    metrics: Registry;
  }
}

/** A registry per instance (tests build many apps in one process; the global one would clash). */
async function metrics(fastify: FastifyInstance) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route pattern and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const problems = new Counter({
    name: 'http_problems_total',
    help: 'Error answers by status',
    labelNames: ['status_code'] as const,
    registers: [registry],
  });
  const pool = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  pool('pg_pool_size', 'Open connections of the app pool (idle + in use)', () => fastify.db.stats().total);
  pool('pg_pool_idle', 'Idle connections of the app pool', () => fastify.db.stats().idle);
  pool('pg_pool_waiting', 'Requests waiting for a connection', () => fastify.db.stats().waiting);
  pool('pg_pool_max', 'Configured maximum of the app pool', () => fastify.db.stats().max);

  fastify.decorate('metrics', registry);
  fastify.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the raw URL: ids would explode label cardinality.
    const route = request.routeOptions.url ?? 'unmatched';
    const labels = { method: request.method, route, status_code: String(reply.statusCode) };
    duration.observe(labels, reply.elapsedTime / 1000);
    if (reply.statusCode >= 400) problems.inc({ status_code: labels.status_code });
  });
}

export default fp(metrics, { name: 'metrics', fastify: '5.x', dependencies: ['db'] });
