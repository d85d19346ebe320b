import { isRole, type Membership } from './contracts.js';
import type { Queryable } from './database.js';

interface MembershipRow {
  organisation_id: string;
  role: string;
  status: string;
  organisation_status: string;
}

/**
 * A user's memberships across organisations. `iam.organisation_users` is under RLS, so this goes
 * through the SECURITY DEFINER function `app.user_memberships` (no tenant context needed).
 */
export async function loadMemberships(db: Queryable, userId: string): Promise<Membership[]> {
  const { rows } = await db.query<MembershipRow>(
    'SELECT organisation_id, role, status, organisation_status FROM app.user_memberships($1::uuid)',
    [userId],
  );
  return rows
    .filter((row) => isRole(row.role))
    .map((row) => ({
      organisationId: row.organisation_id,
      role: row.role as Membership['role'],
      status: row.status as Membership['status'],
      organisationStatus: row.organisation_status as Membership['organisationStatus'],
    }));
}
