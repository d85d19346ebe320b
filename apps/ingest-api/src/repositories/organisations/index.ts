import { type TenantClient, withTenant } from '@prospectflow/tenant-context';
import type { Static } from 'typebox';
import { isUniqueViolation } from '../../lib/db-errors.js';
import { notFound, ProblemError } from '../../lib/problem.js';
import type { Database } from '../../plugins/app/db.js';
import type {
  MyOrganisation as MyOrganisationSchema,
  Organisation,
  UserProfile as UserProfileSchema,
} from '../../routes/v1/organisations/schema.js';

type MyOrganisation = Static<typeof MyOrganisationSchema>;

type UserProfile = Static<typeof UserProfileSchema>;

const SLUG_TAKEN = () => new ProblemError(409, 'slug_taken', 'Another organisation already uses this slug.');

/**
 * Organisations and their owner set. `iam.organisations` and `iam.users` are global tables;
 * every statement here names the caller's own rows (their user id, or the organisation of the
 * tenant unit via `app.current_organisation_id()`), never a caller-chosen other one.
 */
export function organisationsRepository(db: Database) {
  const { pool } = db;
  return {
    /**
     * The caller's organisations. Membership rows of several organisations are hidden by RLS, so
     * this goes through the narrow SECURITY DEFINER app.user_memberships (one user's rows only).
     */
    async listMine(userId: string): Promise<MyOrganisation[]> {
      const { rows } = await pool.query<MyOrganisation>(
        `SELECT o.id, o.name, o.slug::text AS slug, o.status, m.role, m.status AS "membershipStatus"
           FROM app.user_memberships($1::uuid) AS m
           JOIN iam.organisations AS o ON o.id = m.organisation_id
          ORDER BY o.name, o.id`,
        [userId],
      );
      return rows;
    },

    async findUser(userId: string): Promise<UserProfile | undefined> {
      const { rows } = await pool.query<UserProfile>(
        `SELECT id, email::text AS email, first_name AS "firstName", last_name AS "lastName"
           FROM iam.users WHERE id = $1`,
        [userId],
      );
      return rows[0];
    },

    /**
     * The organisation and its owner membership in one transaction, run as the new tenant so RLS
     * accepts the membership row and the audit log records the creator.
     */
    async create(input: { id: string; name: string; slug: string; ownerUserId: string }): Promise<void> {
      try {
        await withTenant(pool, { organisationId: input.id, userId: input.ownerUserId }, async (client) => {
          await client.query('INSERT INTO iam.organisations (id, name, slug) VALUES ($1, $2, $3)', [
            input.id,
            input.name,
            input.slug,
          ]);
          await client.query(
            `INSERT INTO iam.organisation_users (user_id, role, status) VALUES ($1, 'owner', 'active')`,
            [input.ownerUserId],
          );
        });
      } catch (error) {
        if (isUniqueViolation(error, 'organisations_slug_key')) throw SLUG_TAKEN();
        throw error;
      }
    },

    /** Renames the request's organisation (settings are the owner's). */
    async updateSettings(changes: { name?: string | undefined; slug?: string | undefined }) {
      try {
        return await db.tenant(async (client) => {
          const { rows } = await client.query<Static<typeof Organisation>>(
            `UPDATE iam.organisations SET name = coalesce($1, name), slug = coalesce($2, slug)
              WHERE id = app.current_organisation_id()
             RETURNING id, name, slug::text AS slug, status`,
            [changes.name ?? null, changes.slug ?? null],
          );
          if (!rows[0]) throw notFound('Organisation');
          return rows[0];
        });
      } catch (error) {
        if (isUniqueViolation(error, 'organisations_slug_key')) throw SLUG_TAKEN();
        throw error;
      }
    },
  };
}

/**
 * Locks the organisation row for the rest of the unit: every change to the owner set takes this
 * lock first, so two owners demoting each other at once run one after the other and the second
 * sees the first's result (last-owner protection holds under concurrency). NO KEY UPDATE does not
 * block the foreign-key checks of ordinary writes.
 */
export async function lockOwnerSet(client: TenantClient): Promise<void> {
  await client.query(
    'SELECT 1 FROM iam.organisations WHERE id = app.current_organisation_id() FOR NO KEY UPDATE',
  );
}

/** 409 `last_owner` unless an active owner other than `leavingUserId` remains. Call after lockOwnerSet. */
export async function assertOwnerRemains(client: TenantClient, leavingUserId: string): Promise<void> {
  const { rows } = await client.query<{ owners: number }>(
    `SELECT count(*)::int AS owners FROM iam.organisation_users
      WHERE role = 'owner' AND status = 'active' AND user_id <> $1`,
    [leavingUserId],
  );
  if ((rows[0]?.owners ?? 0) === 0) {
    throw new ProblemError(
      409,
      'last_owner',
      'An organisation needs at least one owner; appoint another first.',
    );
  }
}
