import type Database from 'better-sqlite3';
import { inferKind, type SqliteKind } from './convert.js';

export interface DiscoveredColumn {
  name: string;
  declaredType: string;
  primaryKey: boolean;
  /** Position in the primary key (1-based; 0 when not part of it). */
  pkOrder: number;
  kind: SqliteKind;
}

export interface DiscoveredTable {
  name: string;
  rows: number;
  columns: DiscoveredColumn[];
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

export { quote as quoteSqliteName };

/** Tables, columns (with a guessed kind from 200 sample rows) and row counts of a SQLite file. */
export function discover(db: Database.Database): DiscoveredTable[] {
  const tables = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .all() as Array<{ name: string }>;
  return tables.map(({ name }) => describeTable(db, name));
}

/** Columns (kind guessed from 200 sample rows) and row count of one table or view. */
export function describeTable(db: Database.Database, name: string): DiscoveredTable {
  // table_xinfo, not table_info: table_info leaves out generated columns (GENERATED ALWAYS AS …,
  // STORED ones are written in the file), which `SELECT *` returns and the archive must keep.
  // Hidden columns of virtual tables (hidden = 1: an FTS5 table's own name column, rank) are
  // not data and `SELECT *` does not return them.
  const info = (
    db.prepare(`PRAGMA table_xinfo(${quote(name)})`).all() as Array<{
      name: string;
      type: string;
      pk: number;
      hidden: number;
    }>
  ).filter((c) => c.hidden !== 1);
  const sample = db.prepare(`SELECT * FROM ${quote(name)} LIMIT 200`).all() as Array<Record<string, unknown>>;
  const { n } = db.prepare(`SELECT count(*) AS n FROM ${quote(name)}`).get() as { n: number };
  return {
    name,
    rows: n,
    columns: info.map((c) => ({
      name: c.name,
      declaredType: c.type,
      primaryKey: c.pk > 0,
      pkOrder: c.pk,
      kind: inferKind(
        c.type,
        c.name.toLowerCase(),
        sample.map((row) => row[c.name]),
      ),
    })),
  };
}

export interface SourceObject {
  name: string;
  /** `internal`: SQLite's own bookkeeping (sqlite_sequence, sqlite_stat*). */
  kind: 'table' | 'view' | 'internal';
  /** The CREATE statement, as SQLite keeps it. */
  sql: string | null;
}

/** Every table and view of the file, SQLite's internal tables included (the report lists them all). */
export function listSourceObjects(db: Database.Database): SourceObject[] {
  const rows = db
    .prepare(`SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name`)
    .all() as Array<{ type: string; name: string; sql: string | null }>;
  return rows.map((r) => ({
    name: r.name,
    kind: r.name.startsWith('sqlite_') ? 'internal' : r.type === 'view' ? 'view' : 'table',
    sql: r.sql,
  }));
}

/** False for WITHOUT ROWID tables (their primary key is then NOT NULL and unique). */
export function hasRowid(db: Database.Database, table: string): boolean {
  // Asked of the schema, not by selecting `rowid`: a column named rowid answers that select too.
  const row = db.prepare(`SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?`).get(table) as
    | { wr: number }
    | undefined;
  return row !== undefined && row.wr === 0;
}

export interface RowidAccess {
  /** rowid, _rowid_ or oid; null when none reads the rowid. */
  rowid: string | null;
  /** A result column name no column of the table has. */
  alias: string;
  withoutRowid: boolean;
}

/**
 * How to read a table's rowid beside its columns. A column named rowid, _rowid_ or oid hides that
 * alias (SQLite gives the column instead), so the first alias no column uses is chosen (column
 * names compare case-insensitively, as SQLite does); null for WITHOUT ROWID tables and for a table
 * whose columns hide all three. `alias` names the result column and is never a column's name.
 */
export function rowidAccess(db: Database.Database, table: string, columns: readonly string[]): RowidAccess {
  const taken = new Set(columns.map((c) => c.toLowerCase()));
  let alias = '__pf_rowid';
  for (let n = 2; taken.has(alias); n++) alias = `__pf_rowid_${n}`;
  const withoutRowid = !hasRowid(db, table);
  const rowid = withoutRowid ? null : (['rowid', '_rowid_', 'oid'].find((r) => !taken.has(r)) ?? null);
  return { rowid, alias, withoutRowid };
}
