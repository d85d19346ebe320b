/**
 * Shapes shared by the API and the browser. Pure data and types only: no imports, so the
 * `./frontend` entry point bundles for the browser without Node built-ins.
 */

/** Organisation roles, lowest first. */
export const ROLES_BY_RANK = ['viewer', 'member', 'admin', 'owner'] as const;
export type Role = (typeof ROLES_BY_RANK)[number];

export type MembershipStatus = 'active' | 'invited' | 'suspended';
export type OrganisationStatus = 'active' | 'suspended';

export interface Membership {
  organisationId: string;
  role: Role;
  status: MembershipStatus;
  organisationStatus: OrganisationStatus;
}

/** What the API knows about the caller, cached per Cognito pool and `sub`. */
export interface AuthSession {
  userId: string;
  /** Cognito `sub`. */
  sub: string;
  /** Cognito user pool id the token came from. */
  userPoolId: string;
  memberships: Membership[];
  /** Epoch milliseconds when the session was read from PostgreSQL. */
  loadedAt: number;
}

/** The organisation a request runs in (chosen with the `x-organisation-id` header). */
export interface OrganisationScope {
  organisationId: string;
  role: Role;
}

/** Stable `code` values of the problem+json bodies auth-core answers with. */
export const AUTH_ERROR_CODES = [
  'credentials_missing',
  'authorization_header_malformed',
  'authorization_header_repeated',
  'token_too_long',
  'token_malformed',
  'token_missing_claim',
  'token_unknown_key',
  'token_invalid_signature',
  'token_expired',
  'token_not_yet_valid',
  'token_wrong_issuer',
  'token_wrong_client',
  'token_wrong_use',
  'token_invalid',
  'jwks_unavailable',
  'session_unavailable',
  'organisation_required',
  'organisation_id_malformed',
  'not_a_member',
  'membership_suspended',
  'organisation_suspended',
  'insufficient_role',
] as const;
export type AuthErrorCode = (typeof AUTH_ERROR_CODES)[number];

/** RFC 9457 body of an auth failure. */
export interface AuthProblem {
  type: string;
  title: string;
  status: 400 | 401 | 403 | 503;
  detail: string;
  code: AuthErrorCode;
  instance?: string;
}
