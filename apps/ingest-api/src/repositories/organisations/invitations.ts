import type { Role } from '@prospectflow/auth-core';
import type { ErrorCodeWithStatus, InvitationStatus } from '@prospectflow/contracts';
import { type TenantClient, withTenant } from '@prospectflow/tenant-context';
import type { Static } from 'typebox';
import { isUniqueViolation } from '../../lib/db-errors.js';
import { conflict, isProblemError, notFound, ProblemError } from '../../lib/problem.js';
import type { Database } from '../../plugins/app/db.js';
import type {
  Invitation as InvitationSchema,
  ReceivedInvitation as ReceivedInvitationSchema,
} from '../../routes/v1/organisations/schema.js';
import { lockOwnerSet } from './index.js';

/** An invitation as the organisation's admins see it: no names, no hint of an account. */
export type Invitation = Static<typeof InvitationSchema>;
/** An invitation as its invitee sees it (GET /v1/invitations). */
export type ReceivedInvitation = Static<typeof ReceivedInvitationSchema>;

/** Checks the actor may hand out (or take back) `role`; throws 403 otherwise. */
export type RoleGate = (client: TenantClient, role: Role) => Promise<void>;

const iso = (column: string) => `to_json(${column}) #>> '{}'`;
/** 'expired' is derived: a pending invitation past its expiry. */
const INVITATION = `SELECT i.id, i.email::text AS email, i.role,
  CASE WHEN i.status = 'pending' AND i.expires_at <= now() THEN 'expired' ELSE i.status END AS status,
  ${iso('i.expires_at')} AS "expiresAt", ${iso('i.created_at')} AS "createdAt", i.invited_by AS "invitedBy",
  i.accepted_by AS "acceptedBy", ${iso('i.accepted_at')} AS "acceptedAt", ${iso('i.revoked_at')} AS "revokedAt"
  FROM iam.organisation_invitations AS i`;

const NOT_FOUND = () => notFound('Invitation', 'invitation_not_found');
const GONE = (code: ErrorCodeWithStatus<410>, detail: string) => new ProblemError(410, code, detail);

async function findInvitation(client: TenantClient, id: string, lock = false) {
  const { rows } = await client.query<Invitation>(
    `${INVITATION} WHERE i.id = $1${lock ? ' FOR UPDATE' : ''}`,
    [id],
  );
  return rows[0];
}

/** Marks the pending invitation `id` revoked by the unit's user. */
async function markRevoked(client: TenantClient, id: string): Promise<void> {
  await client.query(
    `UPDATE iam.organisation_invitations SET status = 'revoked', revoked_at = now(), revoked_by = app.current_user_id()
      WHERE id = $1 AND status = 'pending'`,
    [id],
  );
}

/**
 * Invitations to the request's organisation, and their acceptance. Acceptance runs as the
 * invitee in the invitation's organisation (they are not a member yet): the organisation comes
 * from app.user_invitations, which only returns invitations addressed to the user's own email,
 * and the unit checks again, under lock, that the email is verified and the invitation open.
 */
export function invitationsRepository(db: Database, options: { ttlDays: number }) {
  /** Accepts invitation `id` of `organisationId` for `userId`; problems name what stands in the way. */
  const acceptIn = (organisationId: string, id: string, userId: string) =>
    withTenant(db.pool, { organisationId, userId }, async (client) => {
      // The owner set is locked first, as for every membership change (and before the row lock,
      // in the same order as the member routes).
      await lockOwnerSet(client);
      const invitation = await findInvitation(client, id, true);
      if (!invitation) throw NOT_FOUND();
      const { rows } = await client.query<{ verified: boolean }>(
        `SELECT email_verified AS verified FROM app.user_account($1::uuid) WHERE email = $2`,
        [userId, invitation.email],
      );
      if (!rows[0]) throw NOT_FOUND();
      if (!rows[0].verified) throw emailNotVerified();
      // Accepting twice is harmless (a first request may already have accepted it on sign-in).
      if (invitation.status === 'accepted' && invitation.acceptedBy === userId)
        return { organisationId, role: invitation.role };
      if (invitation.status === 'accepted')
        throw conflict('invitation_already_accepted', 'This invitation has already been used.', id);
      if (invitation.status === 'revoked') throw GONE('invitation_revoked', 'This invitation was revoked.');
      if (invitation.status === 'expired') throw GONE('invitation_expired', 'This invitation has expired.');
      const inserted = await client.query(
        `INSERT INTO iam.organisation_users (user_id, role, status) VALUES ($1, $2, 'active')
         ON CONFLICT (organisation_id, user_id) DO NOTHING RETURNING user_id`,
        [userId, invitation.role],
      );
      if (inserted.rowCount === 0)
        throw new ProblemError(409, 'already_a_member', 'You are already a member of this organisation.');
      await client.query(
        `UPDATE iam.organisation_invitations SET status = 'accepted', accepted_at = now(), accepted_by = $2
          WHERE id = $1`,
        [id, userId],
      );
      return { organisationId, role: invitation.role };
    });

  /** The invitations addressed to the user's email (any state), with whether that email is verified. */
  const addressedTo = async (userId: string) =>
    (
      await db.pool.query<{
        organisationId: string;
        id: string;
        status: string;
        open: boolean;
        verified: boolean;
      }>(
        `SELECT organisation_id AS "organisationId", id, status, expires_at > now() AS open,
                email_verified AS verified
           FROM app.user_invitations($1::uuid)`,
        [userId],
      )
    ).rows;

  return {
    /**
     * Invites `email` with `role`, replacing an open invitation of the same address (the gate
     * also covers the replaced one's role: only owners touch owner invitations).
     */
    async create(input: { email: string; role: Role }, gate: RoleGate): Promise<Invitation> {
      try {
        return await db.tenant(async (client) => {
          // The owner set is locked first (as for every membership change), so the gate reads the
          // actor's role after a concurrent suspension or demotion has committed.
          await lockOwnerSet(client);
          await gate(client, input.role);
          const { rows: open } = await client.query<{ id: string; role: Role }>(
            `SELECT id, role FROM iam.organisation_invitations WHERE email = $1 AND status = 'pending' FOR UPDATE`,
            [input.email],
          );
          for (const previous of open) {
            await gate(client, previous.role);
            await markRevoked(client, previous.id);
          }
          const { rows } = await client.query<{ id: string }>(
            `INSERT INTO iam.organisation_invitations (email, role, expires_at, invited_by)
             VALUES ($1, $2, now() + make_interval(days => $3), app.current_user_id()) RETURNING id`,
            [input.email, input.role, options.ttlDays],
          );
          return (await findInvitation(client, rows[0]!.id))!;
        });
      } catch (error) {
        // Two admins inviting the same address at once: the second retries and replaces the first.
        if (isUniqueViolation(error, 'organisation_invitations_one_pending_key'))
          throw conflict(
            'invitation_conflict',
            'Another invitation for this address was just created; retry.',
          );
        throw error;
      }
    },

    async list(status?: InvitationStatus): Promise<Invitation[]> {
      return await db.tenant(async (client) => {
        const { rows } = await client.query<Invitation>(
          `SELECT * FROM (${INVITATION}) AS v WHERE $1::text IS NULL OR v.status = $1
            ORDER BY v."createdAt" DESC, v.id LIMIT 500`,
          [status ?? null],
        );
        return rows;
      });
    },

    /** Revokes a pending (or expired) invitation; `gate` checks the actor may touch its role. */
    async revoke(id: string, gate: RoleGate): Promise<void> {
      await db.tenant(async (client) => {
        // Owner set first, then the row (the order of acceptIn), as for create().
        await lockOwnerSet(client);
        const invitation = await findInvitation(client, id, true);
        if (!invitation) throw NOT_FOUND();
        await gate(client, invitation.role);
        if (invitation.status === 'accepted' || invitation.status === 'revoked')
          throw new ProblemError(
            409,
            'invitation_not_pending',
            `This invitation is already ${invitation.status}.`,
          );
        await markRevoked(client, id);
      });
    },

    /** Open invitations addressed to the caller's verified email (none while it is unverified). */
    async received(userId: string): Promise<ReceivedInvitation[]> {
      const { rows } = await db.pool.query<ReceivedInvitation>(
        `SELECT i.id, i.organisation_id AS "organisationId", i.organisation_name AS "organisationName", i.role,
                ${iso('i.expires_at')} AS "expiresAt"
           FROM app.user_invitations($1::uuid) AS i
          WHERE i.email_verified AND i.status = 'pending' AND i.expires_at > now()
          ORDER BY i.expires_at, i.id`,
        [userId],
      );
      return rows;
    },

    /** Accepts one invitation for the caller (404 unless it is addressed to their email). */
    async accept(id: string, userId: string): Promise<{ organisationId: string; role: Role }> {
      const match = (await addressedTo(userId)).find((row) => row.id === id);
      if (!match) throw NOT_FOUND();
      if (!match.verified) throw emailNotVerified();
      return await acceptIn(match.organisationId, id, userId);
    },

    /**
     * On a session load: accepts every open invitation addressed to the user's verified email
     * (first sign-in included). One that cannot be accepted (already a member) stays as it is.
     */
    async acceptAllOpen(userId: string): Promise<string[]> {
      const accepted: string[] = [];
      for (const row of await addressedTo(userId)) {
        if (!row.verified || row.status !== 'pending' || !row.open) continue;
        try {
          accepted.push((await acceptIn(row.organisationId, row.id, userId)).organisationId);
        } catch (error) {
          if (!isProblemError(error)) throw error;
        }
      }
      return accepted;
    },
  };
}

function emailNotVerified(): ProblemError {
  return new ProblemError(
    403,
    'email_not_verified',
    'Verify your email address first; invitations are only accepted for a verified address.',
  );
}
