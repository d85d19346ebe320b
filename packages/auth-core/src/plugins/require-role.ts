import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../contracts.js';
import { AuthError } from '../errors.js';
import { hasRole } from '../roles.js';
import { sendAuthProblem } from './request-auth.js';

/**
 * Route guard: `{ preHandler: requireRole('admin') }` (or `onRequest`, after the scope hooks).
 * Needs the organisation scope; a route without one is refused rather than allowed.
 */
export function requireRole(minimum: Role) {
  return async function roleGuard(request: FastifyRequest, reply: FastifyReply) {
    const scope = request.auth?.organisation;
    if (scope && hasRole(scope.role, minimum)) return;
    const error = scope
      ? new AuthError('insufficient_role', `This action needs the ${minimum} role or higher.`)
      : new AuthError('organisation_required', 'Choose an organisation with the x-organisation-id header.');
    return sendAuthProblem(reply, error, request.server.tokenVerifier?.config.realm ?? 'prospectflow');
  };
}
