import { TRIMMED } from './patterns.js';

const EDGES = new RegExp(`^[${TRIMMED}]+|[${TRIMMED}]+$`, 'g');

/** Trims the characters the SQL side trims too (`btrim(value, TRIMMED)`), not all of Unicode. */
export function trimValue(raw: string): string {
  return raw.replace(EDGES, '');
}

/** Trimmed, or null when nothing is left: a blank cell or field means "no value", not an error. */
export function presentValue(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const value = trimValue(raw);
  return value === '' ? null : value;
}
