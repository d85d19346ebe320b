import type { TenantClient } from '@prospectflow/tenant-context';

/**
 * Imports and undos of the unit's organisation match and write one at a time: the lock is held
 * until the transaction ends. Without it two imports both saw a SIREN or email as new (the later
 * commit failed on the unique key), and an undo planned without seeing an import committing over
 * its rows, then deleted what that import had just updated. Each statement after it sees what the
 * one before committed (READ COMMITTED).
 */
export async function lockOrganisationImports(client: TenantClient): Promise<void> {
  await client.query(
    `SELECT pg_advisory_xact_lock(hashtextextended('crm-import-write:' || current_setting('app.organisation_id'), 0))`,
  );
}
