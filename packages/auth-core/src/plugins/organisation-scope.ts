import { runWithTenant, type TenantContext } from '@prospectflow/tenant-context';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Membership, OrganisationScope } from '../contracts.js';
import { AuthError, isAuthError } from '../errors.js';
import { readOrganisationId } from '../organisation-header.js';
import { appendVary } from '../vary.js';
import { isPreflight, isPublicRoute, sendAuthProblem } from './request-auth.js';
import { roleRefusal } from './require-role.js';
import { SESSION_PLUGIN } from './session.js';

export const ORGANISATION_SCOPE_PLUGIN = '@prospectflow/auth-core/organisation-scope';

export interface OrganisationScopePluginOptions {
  /**
   * Runs the rest of the request inside the tenant context. Defaults to tenant-context's
   * `runWithTenant`; must call `fn` synchronously (AsyncLocalStorage.run semantics).
   */
  runInTenant?: (context: TenantContext, fn: () => void) => void;
}

/** Picks the active membership for the requested organisation, or explains why not. */
export function resolveOrganisation(
  memberships: readonly Membership[],
  organisationId: string,
): OrganisationScope {
  const membership = memberships.find((candidate) => candidate.organisationId === organisationId);
  if (!membership || membership.status === 'invited') {
    throw new AuthError('not_a_member', 'You are not a member of this organisation.');
  }
  if (membership.organisationStatus !== 'active')
    throw new AuthError('organisation_suspended', 'This organisation is suspended.');
  if (membership.status !== 'active')
    throw new AuthError('membership_suspended', 'Your membership of this organisation is suspended.');
  return { organisationId, role: membership.role };
}

function isScoped(request: FastifyRequest): boolean {
  return (
    !isPublicRoute(request) && !isPreflight(request) && request.routeOptions.config?.organisation !== false
  );
}

/**
 * Every route of the context it is registered in runs for one organisation: the
 * `x-organisation-id` header must name an active membership whose role reaches the route's
 * `config.role` (both checked in `onRequest`, before the body is parsed), and the handler runs
 * inside tenant-context's `runWithTenant`. Routes opt out with `config: { organisation: false }`.
 */
async function organisationScope(fastify: FastifyInstance, options: OrganisationScopePluginOptions) {
  const runInTenant = options.runInTenant ?? ((context, fn) => runWithTenant(context, fn));

  fastify.addHook('onRequest', async (request, reply) => {
    const auth = request.auth;
    if (!auth || !isScoped(request)) return;
    appendVary(reply, 'Authorization', 'X-Organisation-Id');
    try {
      if (!auth.session) throw new Error('organisationScope needs the session plugin to have run');
      auth.organisation = resolveOrganisation(
        auth.session.memberships,
        readOrganisationId(request.raw.rawHeaders),
      );
      const refusal = roleRefusal(auth.organisation.role, request.routeOptions.config?.role);
      if (refusal) throw refusal;
    } catch (error) {
      if (!isAuthError(error)) throw error;
      request.log.info({ code: error.code }, 'organisation scope refused');
      return sendAuthProblem(reply, error, fastify.tokenVerifier.config.realm);
    }
  });

  // The tenant context is entered last, after body parsing, so the handler's async work inherits it.
  fastify.addHook('preHandler', (request, _reply, done) => {
    const auth = request.auth;
    if (!auth?.organisation || !auth.userId || !isScoped(request)) {
      done();
      return;
    }
    const context = {
      organisationId: auth.organisation.organisationId,
      userId: auth.userId,
      role: auth.organisation.role,
    };
    let continued = false;
    try {
      runInTenant(context, () => {
        continued = true;
        done();
      });
    } catch (error) {
      // Only a refusal by runInTenant itself lands here; errors after done() belong to Fastify.
      if (!continued) done(error as Error);
      else throw error;
    }
  });
}

export const organisationScopePlugin = fp(organisationScope, {
  name: ORGANISATION_SCOPE_PLUGIN,
  fastify: '5.x',
  dependencies: [SESSION_PLUGIN],
});
