/**
 * One legacy row read field by field for load.ts: each value converted to its PostgreSQL type or
 * passed through its @prospectflow/field-rules rule; a value that cannot be stored skips the row
 * with a reason (`Skip`).
 */
import type * as rules from '@prospectflow/field-rules';
import { toBoolean, toInteger, toJson, toText, toTimestamp } from './convert.js';

export type Row = Record<string, unknown>;
export class Skip extends Error {}
export const skip = (reason: string): never => {
  throw new Skip(reason);
};

/** Reads field → converted value; an unconvertible value skips the row with a reason. */
export class Fields {
  constructor(
    private readonly row: Row,
    private readonly columns: Record<string, string>,
  ) {}
  raw(field: string): unknown {
    const column = this.columns[field];
    return column === undefined ? undefined : this.row[column];
  }
  text(field: string): string | null {
    return toText(this.raw(field));
  }
  /** The value through its field rule: the stored form, null when blank; a refusal skips the row. */
  ruled(field: string, rule: (raw: string) => rules.Outcome): string | null {
    const value = this.text(field);
    if (value === null) return null;
    const outcome = rule(value);
    return outcome.ok ? outcome.value : skip(outcome.code);
  }
  json(field: string): unknown {
    const value = toJson(this.raw(field));
    return value === undefined ? skip(`invalid_json:${field}`) : value;
  }
  /** Test inputs/outputs: JSON when the text is JSON, else the text itself. */
  jsonOrText(field: string): unknown {
    const value = toJson(this.raw(field));
    return value === undefined ? this.text(field) : value;
  }
  object(field: string): Record<string, unknown> {
    const value = this.json(field);
    if (value === null) return {};
    return typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : { value };
  }
  timestamp(field: string): Date | null {
    const value = toTimestamp(this.raw(field));
    return value === undefined ? skip(`invalid_timestamp:${field}`) : value;
  }
  boolean(field: string): boolean | null {
    const value = toBoolean(this.raw(field));
    return value === undefined ? skip(`invalid_boolean:${field}`) : value;
  }
  integer(field: string): number | null {
    const value = toInteger(this.raw(field));
    return value === undefined ? skip(`invalid_integer:${field}`) : value;
  }
}
