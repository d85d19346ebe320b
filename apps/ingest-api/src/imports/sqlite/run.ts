import { basename } from 'node:path';
import Database from 'better-sqlite3';
import type { Pool } from 'pg';
import { createImport, inTenantUnit, markFailed, type Tenant } from '../repository.js';
import { type DiscoveredTable, discover } from './discover.js';
import { loadSqlite, type TableSummary } from './load.js';
import { proposeMapping, type SqliteMapping, validateMapping } from './presets.js';

export interface SqliteImportOptions {
  file: string;
  tenant: Tenant;
  /** A mapping file's content; without it the proposed (preset) mapping is used. */
  mapping?: unknown;
  dryRun?: boolean;
  /** Source name for remembered keys; default `sqlite:<file name>`. */
  source?: string;
  onStart?: (totalRows: number) => void;
  onRow?: () => void;
}

export interface SqliteImportReport {
  file: string;
  organisationId: string;
  source: string;
  dryRun: boolean;
  importId: string | null;
  status: 'succeeded' | 'failed' | 'dry_run';
  error?: string;
  discovered: DiscoveredTable[];
  mapping: SqliteMapping;
  tables: TableSummary[];
}

class DryRunRollback extends Error {}

/**
 * The legacy SQLite import: discover, map (preset or file), then load everything in ONE tenant
 * transaction (a dry run does the same work and rolls back, so its counts are exact). A real run
 * is recorded in crm.imports (source_kind sqlite) with its counts, or its failure.
 */
export async function importSqlite(pool: Pool, options: SqliteImportOptions): Promise<SqliteImportReport> {
  const db = new Database(options.file, { readonly: true, fileMustExist: true });
  try {
    const discovered = discover(db);
    const mapping = options.mapping
      ? validateMapping(options.mapping, discovered)
      : proposeMapping(discovered);
    const source = options.source ?? mapping.source ?? `sqlite:${basename(options.file)}`;
    const total = discovered.filter((t) => mapping.tables[t.name]).reduce((sum, t) => sum + t.rows, 0);
    const report: SqliteImportReport = {
      file: options.file,
      organisationId: options.tenant.organisationId,
      source,
      dryRun: Boolean(options.dryRun),
      importId: null,
      status: options.dryRun ? 'dry_run' : 'succeeded',
      discovered,
      mapping,
      tables: [],
    };
    if (Object.keys(mapping.tables).length === 0) {
      throw new Error(
        'No table of the file maps to companies, contacts, prompts or test_cases: pass --mapping',
      );
    }
    if (!options.dryRun) {
      const record = await createImport(pool, options.tenant, {
        sourceKind: 'sqlite',
        status: 'running',
        fileName: basename(options.file),
        mapping: { request: mapping as unknown as Record<string, unknown> },
      });
      report.importId = record.id;
    }
    options.onStart?.(total);
    try {
      await inTenantUnit(pool, options.tenant, async (client) => {
        report.tables = await loadSqlite(db, pool, mapping, { source, onRow: options.onRow });
        if (options.dryRun) throw new DryRunRollback();
        const sum = (k: 'read' | 'inserted' | 'updated' | 'skipped') =>
          report.tables.reduce((n, t) => n + t[k], 0);
        await client.query(
          `UPDATE crm.imports SET status = 'succeeded', finished_at = now(), rows_total = $2, rows_processed = $2,
                  inserted = $3, updated = $4, skipped = $5 WHERE id = $1`,
          [report.importId, sum('read'), sum('inserted'), sum('updated'), sum('skipped')],
        );
      });
    } catch (error) {
      if (error instanceof DryRunRollback) return report;
      report.status = 'failed';
      report.error = (error as Error).message;
      report.tables = report.tables.map((t) => ({ ...t, inserted: 0, updated: 0 }));
      if (report.importId) {
        await markFailed(
          pool,
          options.tenant,
          report.importId,
          'import_failed',
          (error as Error).message,
        ).catch(() => {});
      }
    }
    return report;
  } finally {
    db.close();
  }
}
