import { INVITATION_STATUSES } from '@prospectflow/contracts';
import { Type } from 'typebox';
import { OneOf, Role, Uuid } from '../../../lib/schemas.js';

const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const Slug = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: '^[a-z0-9]+(-[a-z0-9]+)*$',
  description: 'URL name',
});

export const CreateOrganisation = Type.Object(
  { name: Name, slug: Type.Optional(Slug) },
  { additionalProperties: false },
);
export const OrganisationSettings = Type.Object(
  { name: Type.Optional(Name), slug: Type.Optional(Slug) },
  { additionalProperties: false, minProperties: 1 },
);
export const Organisation = Type.Object({
  id: Uuid,
  name: Type.String(),
  slug: Type.String(),
  status: Type.String(),
});

/** A signed-in user as `GET /v1/me` shows them. */
export const UserProfile = Type.Object({
  id: Uuid,
  email: Type.Union([Type.String(), Type.Null()]),
  firstName: Type.Union([Type.String(), Type.Null()]),
  lastName: Type.Union([Type.String(), Type.Null()]),
});

/** An organisation as its member sees it: the organisation and the member's seat. */
export const MyOrganisation = Type.Intersect([
  Organisation,
  Type.Object({ role: Role, membershipStatus: Type.String() }),
]);

export const Member = Type.Object({
  userId: Uuid,
  email: Type.Union([Type.String(), Type.Null()]),
  firstName: Type.Union([Type.String(), Type.Null()]),
  lastName: Type.Union([Type.String(), Type.Null()]),
  role: Role,
  status: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

const InvitationStatus = OneOf(INVITATION_STATUSES);
const Timestamp = Type.String({ format: 'date-time' });

/** An invitation as admins see it: the address it was sent to, never who (if anyone) owns it. */
export const Invitation = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: Role,
  status: InvitationStatus,
  expiresAt: Timestamp,
  createdAt: Timestamp,
  invitedBy: Type.Union([Uuid, Type.Null()]),
  acceptedBy: Type.Union([Uuid, Type.Null()]),
  acceptedAt: Type.Union([Timestamp, Type.Null()]),
  revokedAt: Type.Union([Timestamp, Type.Null()]),
});
/** An invitation as its invitee sees it (GET /v1/invitations). */
export const ReceivedInvitation = Type.Object({
  id: Uuid,
  organisationId: Uuid,
  organisationName: Type.String(),
  role: Role,
  expiresAt: Timestamp,
});
export const CreateInvitation = Type.Object(
  {
    email: Type.String({ format: 'email', maxLength: 320 }),
    role: Type.Optional(Role),
  },
  { additionalProperties: false },
);
export const InvitationListQuery = Type.Object({ status: Type.Optional(InvitationStatus) });

export const OrganisationParams = Type.Object({ organisationId: Uuid });
export const InvitationParams = Type.Object({ organisationId: Uuid, invitationId: Uuid });
export const MemberParams = Type.Object({ organisationId: Uuid, userId: Uuid });
