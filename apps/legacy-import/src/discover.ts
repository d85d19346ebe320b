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
  const info = db.prepare(`PRAGMA table_info(${quote(name)})`).all() as Array<{
    name: string;
    type: string;
    pk: number;
  }>;
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
  try {
    db.prepare(`SELECT rowid FROM ${quote(table)} LIMIT 0`);
    return true;
  } catch {
    return false;
  }
}
