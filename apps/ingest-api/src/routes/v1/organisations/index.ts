import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAuth } from '@prospectflow/auth-core';
import { runWithTenant } from '@prospectflow/tenant-context';
import { Type } from 'typebox';
import { isUniqueViolation } from '../../../lib/db-errors.js';
import { ProblemError } from '../../../lib/problem.js';
import { invalidateSessions } from '../../../lib/sessions.js';
import members from './members.js';
import { listMyOrganisations, MyOrganisation } from './queries.js';

const CreateOrganisation = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
  slug: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 63,
      pattern: '^[a-z0-9]+(-[a-z0-9]+)*$',
      description: 'URL name',
    }),
  ),
});

/** `Acme Études SAS` → `acme-etudes-sas-3f9a1c`: readable, and unique without a round trip. */
function slugFor(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/g, '');
  const suffix = randomBytes(3).toString('hex');
  return base ? `${base}-${suffix}` : `org-${suffix}`;
}

const organisations: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '',
    {
      config: { organisation: false },
      schema: {
        tags: ['identity'],
        summary: 'Organisations the caller belongs to',
        response: { 200: Type.Object({ items: Type.Array(MyOrganisation) }) },
      },
    },
    async (request) => {
      const auth = requireAuth(request);
      return { items: await listMyOrganisations(fastify.db.pool, auth.userId!) };
    },
  );

  fastify.post(
    '',
    {
      config: { organisation: false },
      schema: {
        tags: ['identity'],
        summary: 'Create an organisation; the caller becomes its owner',
        body: CreateOrganisation,
        response: { 201: MyOrganisation },
      },
    },
    async (request, reply) => {
      const auth = requireAuth(request);
      const userId = auth.userId!;
      const id = randomUUID();
      const name = request.body.name.trim();
      const slug = request.body.slug ?? slugFor(name);
      // One transaction for the organisation and the owner membership, run as the new tenant
      // so RLS accepts the membership row and the audit log records the creator.
      try {
        await runWithTenant({ organisationId: id, userId }, () =>
          fastify.db.tenant(async (client) => {
            await client.query('INSERT INTO iam.organisations (id, name, slug) VALUES ($1, $2, $3)', [
              id,
              name,
              slug,
            ]);
            await client.query(
              `INSERT INTO iam.organisation_users (user_id, role, status) VALUES ($1, 'owner', 'active')`,
              [userId],
            );
          }),
        );
      } catch (error) {
        if (isUniqueViolation(error, 'organisations_slug_key')) {
          throw new ProblemError(409, 'slug_taken', 'Another organisation already uses this slug.');
        }
        throw error;
      }
      // After the commit: the cached session must learn the new membership.
      await invalidateSessions(fastify, request.log, userId);
      reply.code(201).header('location', `/v1/organisations/${id}`);
      return { id, name, slug, status: 'active', role: 'owner' as const, membershipStatus: 'active' };
    },
  );

  await fastify.register(members);
};

export default organisations;
