import type { Pool } from 'pg';
import { Type } from 'typebox';
import { Role } from '../../../lib/schemas.js';

export const MyOrganisation = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  slug: Type.String(),
  status: Type.String(),
  role: Role,
  membershipStatus: Type.String(),
});

interface MyOrganisationRow {
  id: string;
  name: string;
  slug: string;
  status: string;
  role: 'owner' | 'admin' | 'member' | 'viewer';
  membership_status: string;
}

/**
 * The caller's organisations. Membership rows of several organisations are hidden by RLS, so
 * this goes through the narrow SECURITY DEFINER app.user_memberships (one user's rows only);
 * organisations themselves are a global table.
 */
export async function listMyOrganisations(pool: Pool, userId: string) {
  const { rows } = await pool.query<MyOrganisationRow>(
    `SELECT o.id, o.name, o.slug::text AS slug, o.status, m.role, m.status AS membership_status
       FROM app.user_memberships($1::uuid) AS m
       JOIN iam.organisations AS o ON o.id = m.organisation_id
      ORDER BY o.name, o.id`,
    [userId],
  );
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    slug: row.slug,
    status: row.status,
    role: row.role,
    membershipStatus: row.membership_status,
  }));
}
