import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { describeRoute, finishDocument } from '../../lib/openapi/document.js';
import '../../lib/openapi/named-schemas.js';
import { ROLE_RANKS } from '../../lib/role-policy.js';

/**
 * OpenAPI 3.1 from the TypeBox route schemas; registered before any route so it sees them all.
 * The document is committed as openapi.json (`pnpm --filter @prospectflow/ingest-api openapi`);
 * test/core/openapi.test.ts fails when the served one differs.
 */
async function swagger(fastify: FastifyInstance) {
  await fastify.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ProspectFlow ingest API',
        version: '0.1.0',
        description:
          'Organisations, CRM, imports, campaigns and tracking. Errors are RFC 9457 problem+json with a stable `code`. ' +
          'Tenant routes need `x-organisation-id` and declare the lowest organisation role that may call them ' +
          `(\`x-required-role\`; ${ROLE_RANKS.join(' < ')}): viewer reads; member writes CRM data, imports, campaigns ` +
          'and enrollments; admin also manages mailboxes, suppressions and members below owner; owner also grants ' +
          'the owner role, changes organisation settings and deletes the organisation.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (Cognito)' },
          organisation: {
            type: 'apiKey',
            in: 'header',
            name: 'x-organisation-id',
            description: 'UUID of the organisation the request acts for (one of the caller’s memberships)',
          },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: (input) => describeRoute(input as Parameters<typeof describeRoute>[0]) as never,
    transformObject: (input) => finishDocument(input as never) as never,
  });
}

export default fp(swagger, { name: 'swagger', fastify: '5.x' });
