import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { requireAuth } from '@prospectflow/auth-core';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { named } from '../../../lib/openapi/components.js';
import { callerRoute } from '../../../lib/role-policy.js';
import { Items, Role, Uuid } from '../../../lib/schemas.js';
import { invalidateSessions } from '../../../lib/sessions.js';
import { invitationsRepository } from '../../../repositories/organisations/invitations.js';
import { ReceivedInvitation } from '../organisations/schema.js';

const AcceptedInvitation = Type.Object({ organisationId: Uuid, role: Role });

named({ ReceivedInvitation, AcceptedInvitation });

/**
 * /v1/invitations — the invitee's side (signed in, no organisation yet): the open invitations
 * addressed to their verified email, and accepting one. An unverified email sees none and can
 * accept none.
 */
const invitations: FastifyPluginAsyncTypebox = async (fastify) => {
  const repository = invitationsRepository(fastify.db, { ttlDays: fastify.config.invitationTtlDays });
  /**
   * The caller's user id, after copying this request's token into iam.users: the session may be
   * cached from before the email was verified (or changed), and the check must see the token's
   * `email_verified`, not the cached one's.
   */
  const syncedUser = async (request: FastifyRequest) =>
    (await fastify.authServices.userSync.sync(requireAuth(request).token)).id;

  fastify.get(
    '',
    callerRoute({
      summary: 'Open invitations addressed to my verified email',
      response: { 200: Items(ReceivedInvitation) },
    }),
    async (request) => ({ items: await repository.received(await syncedUser(request)) }),
  );

  fastify.post(
    '/:invitationId/accept',
    callerRoute(
      {
        summary: 'Accept an invitation addressed to my verified email; I become a member with its role',
        description:
          'An invitation addressed to another email is not found; while my email is unverified, none can be accepted.',
        params: Type.Object({ invitationId: Uuid }),
        response: { 200: AcceptedInvitation },
      },
      {
        403: ['email_not_verified'],
        404: ['invitation_not_found'],
        409: ['invitation_already_accepted', 'already_a_member'],
        410: ['invitation_revoked', 'invitation_expired'],
      },
    ),
    async (request) => {
      const userId = await syncedUser(request);
      const accepted = await repository.accept(request.params.invitationId, userId);
      // After the commit: the cached session must learn the new membership.
      await invalidateSessions(fastify, request.log, userId);
      return accepted;
    },
  );
};

export default invitations;
