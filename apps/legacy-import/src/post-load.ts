import { inTenantUnit, type Tenant } from '@prospectflow/import-engine';
import type { Pool } from 'pg';
import { TARGET_TABLE } from './load.js';
import type { ConsolidationReport } from './report.js';

/**
 * Counts read back from PostgreSQL after the commit, per source table: rows in the archive, and
 * for mapped tables the typed rows its remembered source keys still point to.
 */
export async function readPostLoadCounts(
  pool: Pool,
  tenant: Tenant,
  report: ConsolidationReport,
): Promise<void> {
  await inTenantUnit(pool, tenant, async (client) => {
    for (const database of report.databases) {
      const { rows: archived } = await client.query<{ source_table: string; n: number }>(
        `SELECT source_table, count(*)::int AS n FROM legacy.archive_rows WHERE source_database = $1 GROUP BY source_table`,
        [database.name],
      );
      const byTable = new Map(archived.map((r) => [r.source_table, r.n]));
      for (const table of database.tables) {
        let typed: number | null = null;
        if (table.typed) {
          const target = TARGET_TABLE[table.typed.target];
          const { rows } = await client.query<{ n: number }>(
            `SELECT count(DISTINCT k.source_key)::int AS n FROM crm.import_source_keys k
              WHERE k.source = $1 AND k.source_table = $2 AND EXISTS (SELECT 1 FROM ${target} t WHERE t.id = k.target_id)`,
            [database.source, table.table],
          );
          typed = rows[0]!.n;
        }
        table.postLoad = { archived: byTable.get(table.table) ?? 0, typed };
      }
    }
  });
}
