import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppOptions } from '../../app.js';

/**
 * Swagger UI at /docs. Its routes are registered by the library, so they are marked public here
 * (PUBLIC_ROUTES lists `/docs*`); encapsulated, so the hook touches nothing else.
 */
async function swaggerUi(fastify: FastifyInstance, opts: AppOptions) {
  if (!opts.config.docsEnabled) return;
  fastify.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), auth: false, rateLimit: false };
  });
  await fastify.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });
}

export default fp(swaggerUi, {
  name: 'swagger-ui',
  fastify: '5.x',
  dependencies: ['swagger'],
  encapsulate: true,
});
