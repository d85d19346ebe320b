import type { TenantClient } from './pg-client.js';

/**
 * Takes the unit's organisation's lock for `purpose`, held until its transaction ends: work of one
 * organisation that reads before it writes (imports matching rows, enrollments checking "enrolled
 * elsewhere") runs one at a time, other organisations untouched. Keyed by
 * app.current_organisation_id(), which refuses (PF001) outside an organisation.
 */
export async function lockOrganisation(client: TenantClient, purpose: string): Promise<void> {
  await client.query(
    `SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || app.current_organisation_id(), 0))`,
    [purpose],
  );
}
