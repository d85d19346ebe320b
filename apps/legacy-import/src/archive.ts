import type { TenantClient } from '@prospectflow/tenant-context';
import type Database from 'better-sqlite3';
import { quoteSqliteName, type RowidAccess } from './discover.js';
import type { ErasedCheck } from './erased.js';
import { encodeRow, InvalidText, keyText, type SqliteValue } from './sqlite-values.js';

export interface ArchiveCounts {
  read: number;
  inserted: number;
  updated: number;
  /** Already archived with the same values (a re-run). */
  unchanged: number;
  rejected: number;
  rejectedReasons: Record<string, number>;
}

export interface ArchiveTable {
  importId: string;
  database: string;
  table: string;
  columns: readonly string[];
  primaryKey: readonly string[];
  /**
   * How to read the rowid (rowid, _rowid_ or oid: one no column hides; see rowidAccess) and the
   * result alias for it; rowid null for WITHOUT ROWID tables and tables whose columns hide all three.
   */
  rowid: RowidAccess;
  /** A second read-only connection to the same file, to re-read text that is not valid UTF-8. */
  rawReader: Database.Database;
  erased: ErasedCheck | null;
  onRow?: () => void;
}

const BATCH = 500;

const INSERT_SQL = `
INSERT INTO legacy.archive_rows (import_id, source_database, source_table, source_key, original)
SELECT $1, $2, $3, e ->> 'k', e -> 'r' FROM jsonb_array_elements($4::jsonb) AS e
ON CONFLICT (organisation_id, source_database, source_table, source_key)
DO UPDATE SET original = EXCLUDED.original, import_id = EXCLUDED.import_id
  WHERE legacy.archive_rows.original IS DISTINCT FROM EXCLUDED.original
RETURNING (xmax = 0) AS inserted`;

/**
 * Copies every row of one SQLite table into legacy.archive_rows, in batches, inside the caller's
 * transaction. The source key is the primary key's value(s) when not null and not seen before in
 * the table (first row wins), else "rowid:<n>": duplicate and NULL keys never lose a row.
 */
export async function archiveTable(
  db: Database.Database,
  client: TenantClient,
  spec: ArchiveTable,
): Promise<ArchiveCounts> {
  const counts: ArchiveCounts = {
    read: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
    rejectedReasons: {},
  };
  const name = quoteSqliteName(spec.table);
  const { rowid: rowidName, alias } = spec.rowid;
  // No rowid: a scan order that does not depend on the planner (the key's order for WITHOUT
  // ROWID tables; the table's own order, rowid order, when columns hide every alias).
  const scan = rowidName
    ? `FROM ${name} ORDER BY ${rowidName}`
    : spec.rowid.withoutRowid && spec.primaryKey.length > 0
      ? `FROM ${name} ORDER BY ${spec.primaryKey.map(quoteSqliteName).join(', ')}`
      : `FROM ${name} NOT INDEXED`;
  const statement = db
    .prepare(rowidName ? `SELECT ${rowidName} AS ${quoteSqliteName(alias)}, * ${scan}` : `SELECT * ${scan}`)
    .safeIntegers(true);
  /** The stored bytes of a text value: by rowid, or (no rowid to read) by the row's place in the scan. */
  const rawBytes = (column: string, rowid: bigint | undefined, position: number): Buffer | null => {
    const cast = `SELECT CAST(${quoteSqliteName(column)} AS BLOB) AS b`;
    const found = (
      rowid !== undefined
        ? spec.rawReader.prepare(`${cast} FROM ${name} WHERE ${rowidName} = ?`).safeIntegers(true).get(rowid)
        : spec.rawReader.prepare(`${cast} ${scan} LIMIT 1 OFFSET ?`).get(position - 1)
    ) as { b: Buffer | null } | undefined;
    return found?.b ?? null;
  };
  const seen = new Set<string>();
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const { rows } = await client.query<{ inserted: boolean }>(INSERT_SQL, [
      spec.importId,
      spec.database,
      spec.table,
      `[${batch.join(',')}]`,
    ]);
    const inserted = rows.filter((r) => r.inserted).length;
    counts.inserted += inserted;
    counts.updated += rows.length - inserted;
    counts.unchanged += batch.length - rows.length;
    batch = [];
  };
  for (const row of statement.iterate() as Iterable<Record<string, SqliteValue>>) {
    counts.read++;
    spec.onRow?.();
    const rowid = rowidName ? (row[alias] as bigint) : undefined;
    const values: Record<string, SqliteValue | InvalidText> = { ...row };
    for (const column of spec.columns) {
      const value = row[column];
      // better-sqlite3 decodes invalid UTF-8 as U+FFFD: keep the bytes instead.
      if (typeof value === 'string' && value.includes('\uFFFD')) {
        const raw = rawBytes(column, rowid, counts.read);
        if (raw && !raw.equals(Buffer.from(value, 'utf8'))) values[column] = new InvalidText(raw);
      }
    }
    if (spec.erased?.(spec.columns.map((c) => (typeof row[c] === 'string' ? row[c] : '')).join('\n'))) {
      counts.rejected++;
      counts.rejectedReasons.erased_subject = (counts.rejectedReasons.erased_subject ?? 0) + 1;
      continue;
    }
    batch.push(
      `{"k":${JSON.stringify(sourceKey(spec, row, seen, rowid, counts.read))},"r":${encodeRow(spec.columns, values)}}`,
    );
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return counts;
}

function sourceKey(
  spec: ArchiveTable,
  row: Record<string, SqliteValue>,
  seen: Set<string>,
  rowid: bigint | undefined,
  position: number,
): string {
  if (spec.primaryKey.length > 0) {
    const parts = spec.primaryKey.map((c) => keyText(row[c] ?? null));
    if (parts.every((p) => p !== null)) {
      const key = parts.length === 1 ? parts[0]! : JSON.stringify(parts);
      if (!key.startsWith('rowid:') && !key.startsWith('row:') && !seen.has(key)) {
        seen.add(key);
        return key;
      }
    }
  }
  // No rowid to read (WITHOUT ROWID, or every alias hidden by a column): the row's position in the
  // table's scan order, stable while the table is not changed.
  return rowid === undefined ? `row:${position}` : `rowid:${rowid}`;
}
