/**
 * `@prospectflow/auth-core/frontend`, kept for compatibility.
 *
 * @deprecated Import from `@prospectflow/contracts` instead: it has no runtime dependencies, while
 * installing auth-core brings its whole server stack. This entry will be removed in a future major.
 */
export {
  AUTH_ERROR_CODES,
  type AuthErrorCode,
  type AuthProblem,
  type AuthSession,
  hasRole,
  type Membership,
  type MembershipStatus,
  type OrganisationScope,
  type OrganisationStatus,
  ROLES_BY_RANK,
  type Role,
} from '@prospectflow/contracts';
