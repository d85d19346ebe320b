import { inTenantUnit, type Tenant } from '@prospectflow/import-engine';
import type { Pool } from 'pg';

/** The crm.imports row of a SQLite import (source_kind sqlite), created as running. */
export async function createImportRecord(
  pool: Pool,
  tenant: Tenant,
  values: { fileName: string; mapping: Record<string, unknown> },
): Promise<string> {
  return await inTenantUnit(pool, tenant, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO crm.imports (source_kind, status, file_name, mapping, created_by, started_at)
       VALUES ('sqlite', 'running', $1, $2, app.current_user_id(), now()) RETURNING id`,
      [values.fileName, JSON.stringify(values.mapping)],
    );
    return rows[0]!.id;
  });
}
