import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAuth } from '@prospectflow/auth-core';
import { created } from '../../../lib/replies.js';
import { callerRoute } from '../../../lib/role-policy.js';
import { Items } from '../../../lib/schemas.js';
import { invalidateSessions } from '../../../lib/sessions.js';
import { organisationsRepository } from '../../../repositories/organisations/index.js';
import invitations from './invitations.js';
import members from './members.js';
import { CreateOrganisation, MyOrganisation } from './schema.js';
import settings from './settings.js';

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

/** The caller's organisations (no organisation scope: any signed-in user may create one). */
const organisations: FastifyPluginAsyncTypebox = async (fastify) => {
  const repository = organisationsRepository(fastify.db);

  fastify.get(
    '',
    callerRoute({
      summary: 'Organisations the caller belongs to',
      response: { 200: Items(MyOrganisation) },
    }),
    async (request) => ({ items: await repository.listMine(requireAuth(request).userId!) }),
  );

  fastify.post(
    '',
    callerRoute(
      {
        summary: 'Create an organisation; the caller becomes its owner',
        body: CreateOrganisation,
        response: { 201: MyOrganisation },
      },
      { 409: ['slug_taken'] },
    ),
    async (request, reply) => {
      const userId = requireAuth(request).userId!;
      const id = randomUUID();
      const name = request.body.name.trim();
      const slug = request.body.slug ?? slugFor(name);
      await repository.create({ id, name, slug, ownerUserId: userId });
      // After the commit: the cached session must learn the new membership.
      await invalidateSessions(fastify, request.log, userId);
      return created(reply, `/v1/organisations/${id}`, {
        id,
        name,
        slug,
        status: 'active',
        role: 'owner' as const,
        membershipStatus: 'active',
      });
    },
  );

  await fastify.register(settings);
  await fastify.register(members);
  await fastify.register(invitations);
};

export default organisations;
