import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAuth } from '@prospectflow/auth-core';
import { Type } from 'typebox';
import { named } from '../../../lib/openapi/components.js';
import { notFound } from '../../../lib/problem.js';
import { organisationsRepository } from '../../../repositories/organisations/index.js';
import { MyOrganisation, UserProfile } from '../organisations/schema.js';

/** The caller's profile and the organisations they belong to. */
const Me = Type.Intersect([UserProfile, Type.Object({ memberships: Type.Array(MyOrganisation) })]);

named({ Me });

const me: FastifyPluginAsyncTypebox = async (fastify) => {
  const repository = organisationsRepository(fastify.db);
  fastify.get(
    '',
    {
      config: { organisation: false },
      schema: {
        tags: ['identity'],
        summary: 'The caller and the organisations they belong to',
        response: { 200: Me },
      },
    },
    async (request) => {
      const user = await repository.findUser(requireAuth(request).userId!);
      if (!user) throw notFound('User');
      return { ...user, memberships: await repository.listMine(user.id) };
    },
  );
};

export default me;
