import type { Role } from './roles.js';

export const MEMBERSHIP_STATUSES = ['active', 'invited', 'suspended'] as const;
export type MembershipStatus = (typeof MEMBERSHIP_STATUSES)[number];

/**
 * States of an invitation to an organisation as the API reports them: `pending`, `accepted` and
 * `revoked` are stored (iam.organisation_invitations.status); `expired` is a pending one past its
 * expiry.
 */
export const INVITATION_STATUSES = ['pending', 'accepted', 'revoked', 'expired'] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];

export const ORGANISATION_STATUSES = ['active', 'suspended'] as const;
export type OrganisationStatus = (typeof ORGANISATION_STATUSES)[number];

/** One organisation the caller belongs to. */
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

/** Request header naming the organisation a tenant route acts for. */
export const ORGANISATION_HEADER = 'x-organisation-id';
