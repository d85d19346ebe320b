import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MANAGE } from '../../../lib/role-policy.js';
import { Items } from '../../../lib/schemas.js';
import { invitationsRepository } from '../../../repositories/organisations/invitations.js';
import { membersRepository } from '../../../repositories/organisations/members.js';
import { ownerRule } from './owner-rule.js';
import { pathNamesScopedOrganisation } from './path-scope.js';
import {
  CreateInvitation,
  Invitation,
  InvitationListQuery,
  InvitationParams,
  OrganisationParams,
} from './schema.js';

const NON_DISCLOSURE =
  'The answer is the same whether or not the address has an account: it never says so, nor names anyone. ' +
  'The invitation becomes a membership only for a signed-in user whose **verified** email is this address ' +
  '(POST /v1/invitations/{invitationId}/accept, or automatically when their session is next loaded, e.g. at first sign-in). ' +
  'Inviting an address again replaces its open invitation. Only owners invite to (or replace an invitation for) `owner`.';

/**
 * /v1/organisations/:organisationId/invitations — membership by invitation (admin and above;
 * owner invitations are the owners'). `POST …/members` is the same call under its former path.
 */
const invitations: FastifyPluginAsyncTypebox = async (fastify) => {
  const repository = invitationsRepository(fastify.db, { ttlDays: fastify.config.invitationTtlDays });
  const members = membersRepository(fastify.db);
  fastify.addHook('onRequest', pathNamesScopedOrganisation);

  const invite = (path: string, extra: { deprecated?: boolean; summary: string }) =>
    fastify.post(
      path,
      {
        config: { ...MANAGE, problems: { 409: ['invitation_conflict'] } },
        schema: {
          tags: ['identity'],
          ...extra,
          description: NON_DISCLOSURE,
          params: OrganisationParams,
          body: CreateInvitation,
          response: { 201: Invitation },
        },
      },
      async (request, reply) => {
        const email = request.body.email.trim().toLowerCase();
        const invitation = await repository.create(
          { email, role: request.body.role ?? 'member' },
          ownerRule(members, request),
        );
        reply
          .code(201)
          .header(
            'location',
            `/v1/organisations/${request.params.organisationId}/invitations/${invitation.id}`,
          );
        return invitation;
      },
    );

  invite('/:organisationId/invitations', {
    summary: 'Invite an email address to the organisation, with a role',
  });
  invite('/:organisationId/members', {
    summary: 'Add a member: creates an invitation (same as POST …/invitations)',
    deprecated: true,
  });

  fastify.get(
    '/:organisationId/invitations',
    {
      config: MANAGE,
      schema: {
        tags: ['identity'],
        summary: 'Invitations of the organisation, newest first (at most 500)',
        params: OrganisationParams,
        querystring: InvitationListQuery,
        response: { 200: Items(Invitation) },
      },
    },
    async (request) => ({ items: await repository.list(request.query.status) }),
  );

  fastify.delete(
    '/:organisationId/invitations/:invitationId',
    {
      config: { ...MANAGE, problems: { 404: ['invitation_not_found'], 409: ['invitation_not_pending'] } },
      schema: {
        tags: ['identity'],
        summary: 'Revoke a pending invitation (409 `invitation_not_pending` once accepted or revoked)',
        operationId: 'revokeOrganisationInvitation',
        params: InvitationParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await repository.revoke(request.params.invitationId, ownerRule(members, request));
      return reply.code(204).send(null);
    },
  );
};

export default invitations;
