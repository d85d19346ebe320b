import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAuth } from '@prospectflow/auth-core';
import { Type } from 'typebox';
import { named } from '../../../lib/openapi/components.js';
import { notFound } from '../../../lib/problem.js';
import { callerRoute } from '../../../lib/role-policy.js';
import { organisationsRepository } from '../../../repositories/organisations/index.js';
import { MyOrganisation, UserProfile } from '../organisations/schema.js';

/** The caller's profile and the organisations they belong to. */
const Me = Type.Intersect([UserProfile, Type.Object({ memberships: Type.Array(MyOrganisation) })]);

named({ Me });

const me: FastifyPluginAsyncTypebox = async (fastify) => {
  const { findUser, listMine } = organisationsRepository(fastify.db);
  fastify.get(
    '',
    callerRoute({
      summary: 'The caller and the organisations they belong to',
      response: { 200: Me },
    }),
    async (request) => {
      const user = await findUser(requireAuth(request).userId!);
      if (!user) throw notFound('User');
      return { ...user, memberships: await listMine(user.id) };
    },
  );
};

export default me;
