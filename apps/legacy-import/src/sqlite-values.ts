/**
 * SQLite storage classes → the archive's JSON, losslessly:
 *   INTEGER → JSON number (all 64 bits: written as digits, jsonb keeps numeric precision)
 *   REAL    → JSON number, always with a fraction or exponent (1.0 stays 1.0, not the integer 1);
 *             ±Infinity (SQLite allows it, JSON does not) → {"$real": "Infinity"}
 *   TEXT    → JSON string; bytes that are not valid UTF-8 → {"$text": "<base64 of the bytes>"}
 *   BLOB    → {"$blob": "<base64>"}
 *   NULL    → null
 * Rows must be read with `safeIntegers(true)` so integers arrive as bigint and reals as number.
 */

export type SqliteValue = null | bigint | number | string | Buffer;

/** A value that could not be read as text without loss (its raw bytes). */
export class InvalidText {
  constructor(readonly bytes: Buffer) {}
}

export function encodeValue(value: SqliteValue | InvalidText): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return JSON.stringify({ $real: String(value) });
    const text = String(value);
    return /[.eE]/.test(text) ? text : `${text}.0`;
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof InvalidText) return JSON.stringify({ $text: value.bytes.toString('base64') });
  return JSON.stringify({ $blob: value.toString('base64') });
}

/** A row as JSON object text, columns in table order. */
export function encodeRow(
  columns: readonly string[],
  row: Record<string, SqliteValue | InvalidText>,
): string {
  return `{${columns.map((c) => `${JSON.stringify(c)}:${encodeValue(row[c] ?? null)}`).join(',')}}`;
}

/** SQLite's own storage class name of a JS value read with safeIntegers. */
export function storageClass(
  value: SqliteValue | InvalidText,
): 'null' | 'integer' | 'real' | 'text' | 'blob' {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return 'integer';
  if (typeof value === 'number') return 'real';
  if (typeof value === 'string' || value instanceof InvalidText) return 'text';
  return 'blob';
}

/** Text of a primary-key value (the archive's source key). */
export function keyText(value: SqliteValue): string | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return `x'${value.toString('hex')}'`;
  return String(value);
}
