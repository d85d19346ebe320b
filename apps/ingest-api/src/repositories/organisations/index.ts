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
 * Organisations and their owner set. `iam.organisations` and `iam.users` are global tables the API
 * role cannot touch: every read and write goes through a narrow SECURITY DEFINER function that
 * names the caller's own rows (their user id, or the tenant unit's organisation), never a
 * caller-chosen other one (migration 1010).
 */
export function organisationsRepository(db: Database) {
  const { pool } = db;
  return {
    /** The caller's organisations, across tenants: through app.user_memberships (one user's rows). */
    async listMine(userId: string): Promise<MyOrganisation[]> {
      const { rows } = await pool.query<MyOrganisation>(
        `SELECT organisation_id AS id, organisation_name AS name, organisation_slug AS slug,
                organisation_status AS status, role, status AS "membershipStatus"
           FROM app.user_memberships($1::uuid)
          ORDER BY organisation_name, organisation_id`,
        [userId],
      );
      return rows;
    },

    async findUser(userId: string): Promise<UserProfile | undefined> {
      const { rows } = await pool.query<UserProfile>(
        `SELECT id, email::text AS email, first_name AS "firstName", last_name AS "lastName"
           FROM app.user_account($1::uuid)`,
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
          await client.query('SELECT app.create_current_organisation($1, $2)', [input.name, input.slug]);
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
            'SELECT id, name, slug, status FROM app.update_current_organisation($1, $2)',
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
  await client.query('SELECT app.lock_current_organisation()');
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
