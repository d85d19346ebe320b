import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Role } from '@prospectflow/auth-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { MANAGE, READ } from '../../../lib/role-policy.js';
import { Items, Role as RoleSchema } from '../../../lib/schemas.js';
import { invalidateSessions } from '../../../lib/sessions.js';
import { type Member as MemberRow, membersRepository } from '../../../repositories/organisations/members.js';
import { ownerRule } from './owner-rule.js';
import { pathNamesScopedOrganisation } from './path-scope.js';
import { Member, MemberParams, OrganisationParams } from './schema.js';

/** A member's own 404, and the organisation's last active owner, who can be neither demoted nor removed. */
const MEMBER_PROBLEMS = { 404: ['member_not_found'], 409: ['last_owner'] } as const;

/**
 * /v1/organisations/:organisationId/members — admins manage members below owner; only owners
 * grant, change or remove the owner role. Members join by invitation (invitations.ts). Changes invalidate the affected user's cached session
 * after the commit.
 */
const members: FastifyPluginAsyncTypebox = async (fastify) => {
  const repository = membersRepository(fastify.db);
  fastify.addHook('onRequest', pathNamesScopedOrganisation);

  /** The owner rule on the target member's role and the role it is given. */
  const onMember =
    (request: FastifyRequest, ...roles: (Role | undefined)[]) =>
    (client: TenantClient, target: MemberRow) =>
      ownerRule(repository, request)(client, target.role, ...roles);

  fastify.get(
    '/:organisationId/members',
    {
      config: READ,
      schema: {
        tags: ['identity'],
        summary: 'Members of the organisation',
        params: OrganisationParams,
        response: { 200: Items(Member) },
      },
    },
    async () => ({ items: await repository.list() }),
  );

  fastify.patch(
    '/:organisationId/members/:userId',
    {
      config: { ...MANAGE, problems: MEMBER_PROBLEMS },
      schema: {
        tags: ['identity'],
        summary: "Change a member's role or status",
        params: MemberParams,
        body: Type.Object(
          {
            role: Type.Optional(RoleSchema),
            status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Member },
      },
    },
    async (request) => {
      const { userId } = request.params;
      const member = await repository.change(userId, request.body, onMember(request, request.body.role));
      await invalidateSessions(fastify, request.log, userId);
      return member;
    },
  );

  fastify.delete(
    '/:organisationId/members/:userId',
    {
      config: { ...MANAGE, problems: MEMBER_PROBLEMS },
      schema: {
        tags: ['identity'],
        summary: 'Remove a member',
        params: MemberParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const { userId } = request.params;
      await repository.remove(userId, onMember(request));
      await invalidateSessions(fastify, request.log, userId);
      return reply.code(204).send(null);
    },
  );
};

export default members;
