import type { Pool } from 'pg';
import { ImportFailure } from './errors.js';
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

/** `<row number>:<error id>` (base64url): the last error of the page before. */
const CURSOR = /^(\d{1,10}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
/** crm.import_errors.row_number is an integer. */
const MAX_ROW_NUMBER = 2_147_483_647;

/** Keyset page of per-row errors ordered by row number; the cursor is opaque to clients (not ours: ImportFailure invalid_cursor). */
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
    const match = CURSOR.exec(decoded);
    // A cursor we did not write is refused: read as "no cursor", a client paging with it started
    // over at the first page (and looped on the same errors for good).
    if (!match || Number(match[1]) > MAX_ROW_NUMBER) {
      throw new ImportFailure('invalid_cursor', 'The errors cursor is not one this API returned.');
    }
    afterRow = Number(match[1]);
    afterId = match[2]!;
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
