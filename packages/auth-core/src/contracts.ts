/**
 * The shared shapes now live in @prospectflow/contracts (one definition for the API, its services
 * and browser code); auth-core re-exports them so existing imports keep working.
 */
export {
  AUTH_ERROR_CODES,
  AUTH_ERRORS,
  type AuthErrorCode,
  type AuthProblem,
  type AuthSession,
  hasRole,
  isRole,
  type Membership,
  type MembershipStatus,
  type OrganisationScope,
  type OrganisationStatus,
  ROLES_BY_RANK,
  type Role,
} from '@prospectflow/contracts';
