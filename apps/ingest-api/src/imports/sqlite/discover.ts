import type Database from 'better-sqlite3';
import { inferKind, type SqliteKind } from './convert.js';

export interface DiscoveredColumn {
  name: string;
  declaredType: string;
  primaryKey: boolean;
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
  return tables.map(({ name }) => {
    const info = db.prepare(`PRAGMA table_info(${quote(name)})`).all() as Array<{
      name: string;
      type: string;
      pk: number;
    }>;
    const sample = db.prepare(`SELECT * FROM ${quote(name)} LIMIT 200`).all() as Array<
      Record<string, unknown>
    >;
    const { n } = db.prepare(`SELECT count(*) AS n FROM ${quote(name)}`).get() as { n: number };
    return {
      name,
      rows: n,
      columns: info.map((c) => ({
        name: c.name,
        declaredType: c.type,
        primaryKey: c.pk > 0,
        kind: inferKind(
          c.type,
          c.name.toLowerCase(),
          sample.map((row) => row[c.name]),
        ),
      })),
    };
  });
}
