/**
 * SQLite storage classes → the archive's JSON, losslessly:
 *   INTEGER → JSON number (all 64 bits: written as digits, jsonb keeps numeric precision)
 *   REAL    → JSON number, always written with a fraction (1.0 stays 1.0, not the integer 1), in
 *             positional notation: jsonb keeps numbers as numeric and prints them without an
 *             exponent, so 1e21 written as `1e+21` would come back as the integer-looking
 *             1000000000000000000000; written `1000000000000000000000.0` it stays a real, exactly.
 *             What jsonb cannot hold at all is tagged: ±Infinity (JSON has none) and -0.0 (numeric
 *             has no negative zero) → {"$real": "Infinity" | "-Infinity" | "-0"}
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
  if (typeof value === 'number') return encodeReal(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof InvalidText) return JSON.stringify({ $text: value.bytes.toString('base64') });
  return JSON.stringify({ $blob: value.toString('base64') });
}

/**
 * A REAL as JSON text that jsonb keeps as a real with the same value: shortest round-trip digits
 * (what `String` gives), a fraction always, never an exponent for large magnitudes (jsonb would
 * drop it and the fraction with it); small magnitudes keep `1e-7`, which jsonb stores as
 * 0.0000001 (a fraction, the same value).
 */
export function encodeReal(value: number): string {
  if (Object.is(value, -0)) return '{"$real":"-0"}';
  if (!Number.isFinite(value)) return JSON.stringify({ $real: String(value) });
  const text = String(value);
  const exponent = /^(-?)(\d+)(?:\.(\d+))?e\+(\d+)$/.exec(text);
  if (exponent) {
    const [, sign, whole, fraction = '', power] = exponent;
    const digits = whole! + fraction;
    // |value| >= 1e21 here, so the digits (at most 17) always end before the decimal point.
    return `${sign}${digits.padEnd(whole!.length + Number(power), '0')}.0`;
  }
  return /[.eE]/.test(text) ? text : `${text}.0`;
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
