import { type Role, requireAuth, roleRefusal } from '@prospectflow/auth-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import type { FastifyRequest } from 'fastify';
import type { membersRepository } from '../../../repositories/organisations/members.js';

/**
 * The owner rule of membership changes: touching the owner role (granting it, inviting to it,
 * changing or removing an owner, revoking an owner invitation) needs `owner`, anything else
 * `admin`. Checked against the actor's role as it is inside the caller's unit (after the owner-set
 * or row lock), so a role taken away a moment ago no longer counts — nor does the role of a
 * membership suspended a moment ago (roleOf answers no role for it).
 */
export function ownerRule(members: ReturnType<typeof membersRepository>, request: FastifyRequest) {
  return async (client: TenantClient, ...roles: (Role | undefined)[]) => {
    const actor = await members.roleOf(client, requireAuth(request).userId!);
    const refusal = roleRefusal(actor ?? 'viewer', roles.includes('owner') ? 'owner' : 'admin');
    if (refusal) throw refusal;
  };
}
