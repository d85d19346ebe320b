import { hasRole, type Role } from '../contracts.js';
import { AuthError } from '../errors.js';

/**
 * The one role check: `undefined` when `actual` may call a route that needs `required`, else the
 * 403 `insufficient_role` naming the required role (viewer < member < admin < owner).
 */
export function roleRefusal(actual: Role, required: Role | undefined): AuthError | undefined {
  if (required === undefined || hasRole(actual, required)) return undefined;
  return insufficientRole(required);
}

/** The 403 `insufficient_role` naming the role a route needs. */
export function insufficientRole(required: Role): AuthError {
  return new AuthError('insufficient_role', `This action needs the ${required} role or higher.`, {
    extensions: { requiredRole: required },
  });
}
