import { basename } from 'node:path';
import type { Tenant } from '@prospectflow/import-engine';
import type { Pool } from 'pg';
import { consolidate } from './consolidate.js';
import type { DiscoveredTable } from './discover.js';
import type { TableSummary } from './load.js';
import { type SqliteMapping, TARGET_ORDER } from './presets.js';
import type { ConsolidationReport } from './report.js';

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

export interface SqliteImportReport extends ConsolidationReport {
  file: string;
  source: string;
  discovered: DiscoveredTable[];
  mapping: SqliteMapping;
  /** The typed tables' counts, in load order. */
  tables: TableSummary[];
}

/** One SQLite file: consolidate() with that database alone, reported the way the CLI always did. */
export async function importSqlite(pool: Pool, options: SqliteImportOptions): Promise<SqliteImportReport> {
  const report = await consolidate(pool, {
    databases: [{ path: options.file, name: basename(options.file) }],
    tenant: options.tenant,
    mapping: options.mapping,
    source: options.source,
    dryRun: options.dryRun,
    onStart: options.onStart,
    onRow: options.onRow,
  });
  const database = report.databases[0]!;
  return {
    ...report,
    file: options.file,
    source: database.source,
    discovered: database.discovered,
    mapping: database.mapping,
    tables: typedTables(report, 0),
  };
}

/** A database's typed-table summaries in load order (referenced tables first). */
export function typedTables(report: ConsolidationReport, index: number): TableSummary[] {
  return report.databases[index]!.tables.flatMap((t) => (t.typed ? [t.typed] : [])).sort(
    (a, b) => TARGET_ORDER.indexOf(a.target) - TARGET_ORDER.indexOf(b.target),
  );
}
