import type { ArchiveCounts } from './archive.js';
import type { DiscoveredTable } from './discover.js';
import type { ColumnFate, Fate } from './fates.js';
import type { TableSummary } from './load.js';
import type { SqliteMapping } from './presets.js';

/** What a consolidation reports: per database, per table (the CLI prints and writes it). */

export interface TableReport {
  table: string;
  kind: 'table' | 'view' | 'internal';
  fate: Fate;
  reason: string;
  columns: ColumnFate[];
  /** Rows in the source table. */
  read: number;
  /** The typed copy (mapped tables). */
  typed: TableSummary | null;
  /** The archive copy (every table). */
  archive: ArchiveCounts | null;
  ms: number;
  /** Read back from PostgreSQL after the commit (null for a dry run or a failed import). */
  postLoad: { archived: number; typed: number | null } | null;
}

export interface DatabaseReport {
  name: string;
  path: string;
  sha256: string;
  /** The legacy store recognised (seed 004), if any. */
  store: string | null;
  source: string;
  discovered: DiscoveredTable[];
  mapping: SqliteMapping;
  tables: TableReport[];
}

export interface ConsolidationReport {
  organisationId: string;
  importId: string | null;
  dryRun: boolean;
  status: 'succeeded' | 'failed' | 'dry_run';
  error?: string;
  ms: number;
  databases: DatabaseReport[];
}
