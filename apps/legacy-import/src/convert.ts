/** Legacy SQLite values → PostgreSQL types. Each returns undefined when the value cannot convert. */

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function toUuid(value: unknown): string | null | undefined {
  if (value === null || value === undefined || value === '') return null;
  const text = String(value)
    .trim()
    .replace(/^\{|\}$/g, '');
  if (!UUID_RE.test(text)) return undefined;
  const hex = text.replace(/-/g, '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** JSON text → a value for a jsonb parameter (already-parsed values pass through). */
export function toJson(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/**
 * Epoch seconds or milliseconds (numbers or numeric text; ms above 1e11), or ISO-8601/SQLite
 * datetime text ("2024-05-01 10:00:00" is read as UTC, SQLite's convention).
 */
export function toTimestamp(value: unknown): Date | null | undefined {
  if (value === null || value === undefined || value === '') return null;
  let date: Date;
  if (
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    /^-?\d+(\.\d+)?$/.test(String(value).trim())
  ) {
    const n = Number(value);
    date = new Date(Math.abs(n) >= 1e11 ? n : n * 1000);
  } else {
    const text = String(value).trim();
    const iso = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text)
      ? `${text.replace(' ', 'T')}Z`
      : text;
    date = new Date(iso);
  }
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function toBoolean(value: unknown): boolean | null | undefined {
  if (value === null || value === undefined || value === '') return null;
  const text = String(value).trim().toLowerCase();
  if (['1', 'true', 't', 'yes', 'y', 'oui'].includes(text)) return true;
  if (['0', 'false', 'f', 'no', 'n', 'non'].includes(text)) return false;
  return undefined;
}

export function toText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = (Buffer.isBuffer(value) ? value.toString('utf8') : String(value)).trim();
  return text === '' ? null : text;
}

export function toInteger(value: unknown): number | null | undefined {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

export type SqliteKind = 'uuid' | 'json' | 'timestamp' | 'boolean' | 'integer' | 'text';

/** Guesses a column's kind from its declared type, name and sample values. */
export function inferKind(declared: string, name: string, samples: unknown[]): SqliteKind {
  const values = samples.filter((v) => v !== null && v !== undefined && v !== '');
  const type = declared.toUpperCase();
  const all = (test: (v: unknown) => boolean) => values.length > 0 && values.every(test);
  if (
    type.includes('BOOL') ||
    (/^(is|has)_|_flag$|^active$|^enabled$/.test(name) && all((v) => toBoolean(v) != null))
  ) {
    return 'boolean';
  }
  if (/(_at|_on|date|time)$/.test(name) || type.includes('DATE') || type.includes('TIME')) return 'timestamp';
  if (all((v) => typeof v === 'string' && toUuid(v) !== undefined)) return 'uuid';
  if (
    type.includes('JSON') ||
    all((v) => typeof v === 'string' && /^[[{]/.test(v.trim()) && toJson(v) !== undefined)
  ) {
    return 'json';
  }
  if (type.includes('INT') || all((v) => typeof v === 'number' && Number.isInteger(v))) return 'integer';
  return 'text';
}
