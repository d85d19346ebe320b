import type { Pool } from 'pg';
import { SKIP_CODES } from './pipeline-sql.js';
import { inTenantUnit, type Tenant } from './tenant-unit.js';

export interface ImportErrorRecord {
  rowNumber: number;
  column: string | null;
  code: string;
  kind: 'skipped' | 'failed';
  message: string;
  rawValue: string | null;
}

/** Keyset page of per-row errors ordered by row number; the cursor is opaque to clients. */
export async function listImportErrors(
  pool: Pool,
  tenant: Tenant,
  id: string,
  page: { limit: number; cursor?: string | null },
): Promise<{ items: ImportErrorRecord[]; nextCursor: string | null }> {
  let afterRow = 0;
  let afterId = '00000000-0000-0000-0000-000000000000';
  if (page.cursor) {
    const decoded = Buffer.from(page.cursor, 'base64url').toString('utf8');
    const match = /^(\d+):([0-9a-f-]{36})$/.exec(decoded);
    if (match) {
      afterRow = Number(match[1]);
      afterId = match[2]!;
    }
  }
  const { rows } = await inTenantUnit(pool, tenant, (client) =>
    client.query<{
      id: string;
      row_number: number;
      column_name: string | null;
      code: string;
      message: string;
      raw_value: string | null;
    }>(
      `SELECT id, row_number, column_name, code, message, raw_value FROM crm.import_errors
        WHERE import_id = $1 AND (row_number, id) > ($2, $3::uuid)
        ORDER BY row_number, id LIMIT $4`,
      [id, afterRow, afterId, page.limit + 1],
    ),
  );
  const more = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return {
    items: items.map((r) => ({
      rowNumber: r.row_number,
      column: r.column_name,
      code: r.code,
      kind: (SKIP_CODES as readonly string[]).includes(r.code) ? 'skipped' : 'failed',
      message: r.message,
      rawValue: r.raw_value,
    })),
    nextCursor: more && last ? Buffer.from(`${last.row_number}:${last.id}`).toString('base64url') : null,
  };
}
