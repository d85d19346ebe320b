import { inTenantUnit, type Tenant } from '@prospectflow/import-engine';
import type { Pool } from 'pg';

export interface ExportFilter {
  database?: string;
  table?: string;
  importId?: string;
}

export interface ArchivedRow {
  database: string;
  table: string;
  key: string;
  importId: string;
  /**
   * The original row as JSON text (SQLite values converted as described in sqlite-values.ts),
   * never parsed here: 64-bit integers would lose precision in a JS number.
   */
  rowJson: string;
}

/** One JSON Lines record of the export. */
export const toJsonLine = (r: ArchivedRow) =>
  `{"database":${JSON.stringify(r.database)},"table":${JSON.stringify(r.table)},"key":${JSON.stringify(r.key)},"importId":${JSON.stringify(r.importId)},"row":${r.rowJson}}`;

const PAGE = 1000;

/**
 * The organisation's archived rows, in (database, table, key) order, a page per tenant unit of
 * work (keyset pagination: constant memory whatever the archive's size).
 */
export async function* exportArchive(
  pool: Pool,
  tenant: Tenant,
  filter: ExportFilter = {},
): AsyncGenerator<ArchivedRow> {
  let after: [string, string, string] = ['', '', ''];
  for (;;) {
    const rows = await inTenantUnit(pool, tenant, async (client) => {
      const { rows } = await client.query<{
        source_database: string;
        source_table: string;
        source_key: string;
        import_id: string;
        original: string;
      }>(
        `SELECT source_database, source_table, source_key, import_id, original::text AS original FROM legacy.archive_rows
          WHERE (source_database, source_table, source_key) > ($1, $2, $3)
            AND ($4::text IS NULL OR source_database = $4) AND ($5::text IS NULL OR source_table = $5)
            AND ($6::uuid IS NULL OR import_id = $6)
          ORDER BY source_database, source_table, source_key LIMIT ${PAGE}`,
        [...after, filter.database ?? null, filter.table ?? null, filter.importId ?? null],
      );
      return rows;
    });
    for (const r of rows) {
      yield {
        database: r.source_database,
        table: r.source_table,
        key: r.source_key,
        importId: r.import_id,
        rowJson: r.original,
      };
    }
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1]!;
    after = [last.source_database, last.source_table, last.source_key];
  }
}
