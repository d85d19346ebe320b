import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** OpenAPI 3.1 from the TypeBox route schemas; registered before any route so it sees them all. */
async function swagger(fastify: FastifyInstance) {
  await fastify.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ProspectFlow ingest API',
        version: '0.1.0',
        description:
          'Organisations, CRM, imports, campaigns and tracking. Errors are RFC 9457 problem+json with a stable `code`. ' +
          'Tenant routes need `x-organisation-id`.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (Cognito)' } },
      },
      security: [{ bearer: [] }],
    },
    // Public routes say so in the spec too.
    transform: ({ schema, url, route }) => {
      const transformed = { ...(schema ?? {}) } as Record<string, unknown>;
      if (route.config?.auth === false) transformed.security = [];
      return { schema: transformed as typeof schema, url };
    },
  });
}

export default fp(swagger, { name: 'swagger', fastify: '5.x' });
