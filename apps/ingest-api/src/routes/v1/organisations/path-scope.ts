import type { FastifyRequest } from 'fastify';
import { badRequest, ProblemError } from '../../../lib/problem.js';

/**
 * onRequest hook for /v1/organisations/:organisationId/…: the organisation comes from
 * x-organisation-id like on every tenant route, and the path must name the same one. Never hints
 * whether another organisation exists: naming one the caller does not belong to is 403.
 */
export async function pathNamesScopedOrganisation(request: FastifyRequest): Promise<void> {
  const auth = request.auth;
  const scoped = auth?.organisation?.organisationId;
  const named = (request.params as { organisationId?: string }).organisationId?.toLowerCase();
  if (!auth || !scoped || !named || named === scoped) return;
  const member = auth.session?.memberships.some((m) => m.organisationId === named && m.status === 'active');
  if (!member) throw new ProblemError(403, 'not_a_member', 'You are not a member of this organisation.');
  throw badRequest('organisation_mismatch', 'The path and x-organisation-id name different organisations.');
}
