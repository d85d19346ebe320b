import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppOptions } from '../../app.js';

/** What a browser app may send (everything the API reads from a request header). */
export const CORS_ALLOWED_HEADERS = ['authorization', 'content-type', 'x-organisation-id', 'idempotency-key'];
/** What a browser app may read: rate-limit state, the request id of a problem, where a resource was created. */
export const CORS_EXPOSED_HEADERS = [
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'retry-after',
  'x-request-id',
  'location',
  'idempotent-replayed',
];

/**
 * CORS for the origins in CORS_ORIGINS only (none by default), with credentials. Answered in
 * @fastify/cors's onRequest hook, before authentication (a preflight carries no token), so its
 * OPTIONS route is public (PUBLIC_ROUTES). A request from any other origin gets no CORS header at
 * all (its preflight falls through to the 404), and the browser keeps the answer from the page.
 */
async function cors(fastify: FastifyInstance, opts: AppOptions) {
  const allowed = new Set(opts.config.corsOrigins);
  fastify.addHook('onRoute', (route) => {
    if (route.method === 'OPTIONS' && route.url === '*') {
      route.config = { ...(route.config ?? {}), auth: false, rateLimit: false };
    }
  });
  await fastify.register(fastifyCors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: 600,
  });
}

export default fp(cors, { name: 'cors', fastify: '5.x' });
