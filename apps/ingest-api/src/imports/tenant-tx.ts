import type { Pool, PoolClient } from 'pg';

/**
 * One transaction on a raw pooled connection with the tenant set for that transaction only.
 * Imports need the raw PoolClient (COPY streams) and a second, independent connection for
 * progress; @prospectflow/tenant-context's withTenantClient nests calls on the same pool into
 * savepoints and hides the raw client, so the import engine opens its own units here with the
 * same settings (app.organisation_id, app.user_id; transaction-local, safe behind pgBouncer).
 */
export async function inTenantTransaction<T>(
  pool: Pool,
  tenant: { organisationId: string; userId?: string | null },
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `SELECT set_config('app.organisation_id', $1, true), set_config('app.user_id', $2, true)`,
      [tenant.organisationId, tenant.userId ?? ''],
    );
    const result = await fn(client);
    await client.query('COMMIT');
    client.release();
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    // A connection whose transaction state is unknown is not reused.
    client.release(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}
