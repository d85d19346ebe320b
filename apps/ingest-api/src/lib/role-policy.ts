import type { Role } from '@prospectflow/auth-core';
import type { FastifySchema } from 'fastify';
import type { RouteProblems } from './openapi/errors.js';

/**
 * Who may call what, in one place (docs/api/roles.md is checked against the routes):
 * `viewer` reads; `member` writes CRM data, imports, campaigns and enrollments; `admin` also
 * manages mailboxes (sending identities), suppressions and members below owner; `owner` also
 * grants the owner role, changes organisation settings and deletes the organisation. Every
 * organisation-scoped route declares `config: { role }`; the app refuses to start otherwise.
 */
export const ROLE_RANKS: readonly Role[] = ['viewer', 'member', 'admin', 'owner'];

/** Shorthands route files use, so the matrix reads the same everywhere. */
export const READ = { role: 'viewer' } as const;
export const WRITE = { role: 'member' } as const;
export const MANAGE = { role: 'admin' } as const;
export const OWN = { role: 'owner' } as const;

/**
 * Options of a route about the signed-in caller, outside any organisation (their profile, the
 * organisations they belong to or create, invitations addressed to them): a valid token, no role.
 */
export function callerRoute<S extends FastifySchema>(schema: S, problems?: RouteProblems) {
  return {
    config: { organisation: false as const, ...(problems ? { problems } : {}) },
    schema: { tags: ['identity'], ...schema },
  };
}

/** The sentence the OpenAPI description of a route starts with. */
export function roleSentence(role: Role): string {
  const above = ROLE_RANKS.slice(ROLE_RANKS.indexOf(role));
  return `Role: \`${role}\` or higher (${above.join(', ')}); a lower role gets 403 \`insufficient_role\` naming \`requiredRole\` and nothing changes.`;
}
