import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAuth } from '@prospectflow/auth-core';
import { Type } from 'typebox';
import { notFound } from '../../../lib/problem.js';
import { listMyOrganisations, MyOrganisation } from '../organisations/queries.js';

const Me = Type.Object({
  id: Type.String({ format: 'uuid' }),
  email: Type.Union([Type.String(), Type.Null()]),
  firstName: Type.Union([Type.String(), Type.Null()]),
  lastName: Type.Union([Type.String(), Type.Null()]),
  memberships: Type.Array(MyOrganisation),
});

const me: FastifyPluginAsyncTypebox = async (fastify) => {
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
      const auth = requireAuth(request);
      const { rows } = await fastify.db.pool.query<{
        id: string;
        email: string | null;
        first_name: string | null;
        last_name: string | null;
      }>('SELECT id, email, first_name, last_name FROM iam.users WHERE id = $1', [auth.userId]);
      const user = rows[0];
      if (!user) throw notFound('User');
      return {
        id: user.id,
        email: user.email,
        firstName: user.first_name,
        lastName: user.last_name,
        memberships: await listMyOrganisations(fastify.db.pool, user.id),
      };
    },
  );
};

export default me;
