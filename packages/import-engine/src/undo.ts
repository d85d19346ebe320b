import { errorStatus } from '@prospectflow/contracts';
import { lockOrganisation, type TenantClient } from '@prospectflow/tenant-context';
import { IMPORT_WRITES } from './run-import.js';

/**
 * Undo of an import from its ledger (crm.import_changes, migration 0962): rows the import created
 * are deleted, rows it updated get their before-image back — only if nothing changed them since
 * (the hash sealed at the end of the import still matches) and nothing created since depends on
 * them. Otherwise nothing is done and the conflicts are listed. Runs in the caller's tenant
 * transaction; the SQLite CLI and DELETE /v1/imports/{id} share it.
 */

export type UndoAction = 'delete' | 'restore' | 'gone' | 'conflict';

export type UndoConflictReason = 'changed_since' | 'deleted_since' | 'referenced_since';

export interface UndoConflict {
  table: string;
  rowId: string;
  reason: UndoConflictReason;
}

export interface UndoReport {
  importId: string;
  dryRun: boolean;
  /** True when the rows were deleted/restored (never with conflicts or in a dry run). */
  applied: boolean;
  /** table → rows to delete / restore; `gone`: created rows deleted since (nothing to do). */
  tables: Record<string, { delete: number; restore: number; gone: number }>;
  conflicts: UndoConflict[];
}

export class UndoRefused extends Error {
  /** The code's HTTP status in contracts. */
  readonly status: number;

  constructor(
    readonly code: 'import_not_found' | 'import_not_finished' | 'import_already_undone' | 'import_failed',
    message: string,
  ) {
    super(message);
    this.status = errorStatus(code);
  }
}

/** Restores first (a restored row may point back at a row that stays), then children before parents. */
const TABLES = [
  'crm.positions',
  'crm.people',
  'crm.companies',
  'outreach.prompts',
  'crm.import_source_keys',
  'legacy.archive_rows',
  'legacy.source_tables',
] as const;

/** Rows created since that would be lost with (cascade) or block the delete of a created row. */
const REFERENCES: Partial<Record<(typeof TABLES)[number], string>> = {
  'crm.companies': `SELECT 1 FROM crm.positions p WHERE p.company_id = t.id AND NOT EXISTS (
     SELECT 1 FROM crm.import_changes o WHERE o.import_id = $1 AND o.table_name = 'crm.positions' AND o.row_id = p.id)`,
  'crm.people': `SELECT 1 FROM crm.positions p WHERE p.person_id = t.id AND NOT EXISTS (
     SELECT 1 FROM crm.import_changes o WHERE o.import_id = $1 AND o.table_name = 'crm.positions' AND o.row_id = p.id)`,
  'crm.positions': 'SELECT 1 FROM outreach.campaign_enrollments e WHERE e.position_id = t.id',
  'outreach.prompts': 'SELECT 1 FROM outreach.workflow_steps s WHERE s.prompt_id = t.id',
};

const planSql = (table: string) => `
SELECT c.row_id, c.action,
  CASE
    WHEN c.row_deleted OR t.id IS NULL THEN CASE c.action WHEN 'insert' THEN 'gone' ELSE 'deleted_since' END
    WHEN c.after_md5 IS NULL OR md5(to_jsonb(t)::text) <> c.after_md5 THEN 'changed_since'
    ${REFERENCES[table as keyof typeof REFERENCES] ? `WHEN c.action = 'insert' AND EXISTS (${REFERENCES[table as keyof typeof REFERENCES]}) THEN 'referenced_since'` : ''}
    WHEN c.action = 'insert' THEN 'delete'
    ELSE 'restore'
  END AS outcome
FROM crm.import_changes c LEFT JOIN ${table} t ON t.id = c.row_id
WHERE c.import_id = $1 AND c.table_name = $2`;

async function columnsOf(client: TenantClient, table: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT quote_ident(attname) AS name FROM pg_attribute
      WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''
        AND attname NOT IN ('organisation_id', 'id') ORDER BY attnum`,
    [table],
  );
  return rows.map((r) => r.name);
}

export async function undoImport(
  client: TenantClient,
  importId: string,
  options: { dryRun?: boolean } = {},
): Promise<UndoReport> {
  // After any import of the organisation now writing has committed, so the plan sees its changes.
  await lockOrganisation(client, IMPORT_WRITES);
  const { rows: found } = await client.query<{ status: string; undone_at: Date | null }>(
    'SELECT status, undone_at FROM crm.imports WHERE id = $1 FOR UPDATE',
    [importId],
  );
  const record = found[0];
  if (!record) throw new UndoRefused('import_not_found', 'The import does not exist');
  if (record.undone_at) {
    throw new UndoRefused(
      'import_already_undone',
      `The import was undone at ${record.undone_at.toISOString()}`,
    );
  }
  if (record.status === 'failed') {
    throw new UndoRefused('import_failed', 'The import failed: it wrote nothing, there is nothing to undo');
  }
  if (record.status !== 'succeeded') {
    throw new UndoRefused('import_not_finished', `The import is ${record.status}: wait until it ends`);
  }
  const report: UndoReport = {
    importId,
    dryRun: Boolean(options.dryRun),
    applied: false,
    tables: {},
    conflicts: [],
  };
  for (const table of TABLES) {
    const { rows } = await client.query<{ row_id: string; outcome: string }>(planSql(table), [
      importId,
      table,
    ]);
    if (rows.length === 0) continue;
    const counts = { delete: 0, restore: 0, gone: 0 };
    for (const row of rows) {
      if (row.outcome === 'delete' || row.outcome === 'restore' || row.outcome === 'gone')
        counts[row.outcome]++;
      else report.conflicts.push({ table, rowId: row.row_id, reason: row.outcome as UndoConflictReason });
    }
    report.tables[table] = counts;
  }
  if (report.dryRun || report.conflicts.length > 0) return report;

  // Before-images come back exactly: the bookkeeping triggers keep updated_at/updated_* (0962).
  await client.query(`SELECT set_config('app.restore', 'on', true)`);
  for (const table of TABLES) {
    if (!report.tables[table]?.restore) continue;
    const columns = await columnsOf(client, table);
    await client.query(
      `UPDATE ${table} AS t SET (${columns.join(', ')}) =
         (SELECT ${columns.map((c) => `r.${c}`).join(', ')} FROM jsonb_populate_record(NULL::${table}, c.before) AS r)
       FROM crm.import_changes AS c
       WHERE c.import_id = $1 AND c.table_name = $2 AND c.action = 'update' AND t.id = c.row_id`,
      [importId, table],
    );
  }
  await client.query(`SELECT set_config('app.restore', '', true)`);
  for (const table of TABLES) {
    if (!report.tables[table]?.delete) continue;
    await client.query(
      `DELETE FROM ${table} AS t USING crm.import_changes AS c
        WHERE c.import_id = $1 AND c.table_name = $2 AND c.action = 'insert' AND t.id = c.row_id`,
      [importId, table],
    );
  }
  await client.query('UPDATE crm.imports SET undone_at = now() WHERE id = $1', [importId]);
  report.applied = true;
  return report;
}

/** The last statement of every import transaction: seals the ledger (hash of each row it left). */
export const SEAL_LEDGER_SQL = 'SELECT app.seal_import_ledger()';
