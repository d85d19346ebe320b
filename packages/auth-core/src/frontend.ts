/**
 * `@prospectflow/auth-core/frontend`: the session, membership, role and error-code shapes for
 * browser code. Re-exports pure modules only (checked by test/frontend-bundle.test.ts).
 */
export {
  AUTH_ERROR_CODES,
  type AuthErrorCode,
  type AuthProblem,
  type AuthSession,
  type Membership,
  type MembershipStatus,
  type OrganisationScope,
  type OrganisationStatus,
  ROLES_BY_RANK,
  type Role,
} from './contracts.js';
export { hasRole } from './roles.js';
