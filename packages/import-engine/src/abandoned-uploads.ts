import type { ObjectStorage } from '@prospectflow/object-storage';
import type { Pool } from 'pg';
import { failInterrupted } from './repository.js';
import { inTenantUnit } from './tenant-unit.js';

/**
 * Removes the uploads no import will read again — personal data kept for nothing: those of failed
 * imports, including imports whose task ran out of attempts without an outcome (failed in SQL,
 * where no storage is at hand; marked import_interrupted here first). An upload is normally
 * removed when its import ends; this catches what a dead worker left. The key is cleared once the
 * object is gone, so each is handled once. At most `limit` per call; returns how many were removed.
 * A storage failure throws (nothing is cleared; the next call tries again).
 */
export async function discardAbandonedUploads(
  pool: Pool,
  storage: ObjectStorage,
  organisationId: string,
  limit = 500,
): Promise<number> {
  const tenant = { organisationId, userId: null };
  const abandoned = await inTenantUnit(pool, tenant, async (client) => {
    await failInterrupted(client);
    const { rows } = await client.query<{ id: string; storage_key: string }>(
      `SELECT id, storage_key FROM crm.imports WHERE status = 'failed' AND storage_key IS NOT NULL
        ORDER BY finished_at LIMIT $1`,
      [limit],
    );
    return rows;
  });
  if (abandoned.length === 0) return 0;
  for (const row of abandoned) await storage.delete(row.storage_key);
  await inTenantUnit(pool, tenant, (client) =>
    client.query('UPDATE crm.imports SET storage_key = NULL WHERE id = ANY ($1::uuid[])', [
      abandoned.map((row) => row.id),
    ]),
  );
  return abandoned.length;
}
