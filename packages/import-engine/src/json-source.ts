import { mappingPairs, type SourceRow, toSourceRow } from './csv-source.js';
import { IMPORT_FIELDS } from './fields.js';
import { assertUsable, type CustomMapping, type ResolvedMapping, resolveMapping } from './mapping.js';

/**
 * A JSON array of objects as import rows: keys are resolved like CSV headers (canonical field
 * names, Pharow/English aliases, or the custom mapping). Row numbers are 1-based array indexes.
 */
export function readJsonRows(
  items: readonly unknown[],
  custom: CustomMapping = {},
): { mapping: ResolvedMapping; rows: Generator<SourceRow> } {
  const keys = new Map<string, number>();
  for (const item of items) {
    if (item && typeof item === 'object' && !Array.isArray(item)) {
      for (const key of Object.keys(item)) if (!keys.has(key)) keys.set(key, keys.size);
    }
  }
  const header = [...keys.keys()];
  const mapping = resolveMapping(header, custom);
  assertUsable(mapping);
  const pairs = mappingPairs(mapping);

  function* rows(): Generator<SourceRow> {
    for (let index = 0; index < items.length; index++) {
      const item = items[index];
      const rowNumber = index + 1;
      if (!item || typeof item !== 'object' || Array.isArray(item)) {
        yield {
          rowNumber,
          values: new Array(IMPORT_FIELDS.length).fill(null),
          error: {
            code: 'invalid_row',
            field: null,
            message: 'Each row must be a JSON object',
            raw: JSON.stringify(item)?.slice(0, 200) ?? null,
          },
        };
        continue;
      }
      const record: string[] = new Array(header.length).fill('');
      let bad: string | undefined;
      for (const [key, value] of Object.entries(item)) {
        const column = keys.get(key)!;
        if (value === null || value === undefined) continue;
        if (typeof value === 'string') record[column] = value;
        else if (typeof value === 'number' || typeof value === 'boolean') record[column] = String(value);
        else bad ??= key;
      }
      if (bad !== undefined) {
        yield {
          rowNumber,
          values: new Array(IMPORT_FIELDS.length).fill(null),
          error: {
            code: 'invalid_value',
            field: bad,
            message: `"${bad}" must be a string, number or boolean`,
            raw: null,
          },
        };
        continue;
      }
      const row = toSourceRow(record, rowNumber, pairs, header.length, mapping.headers);
      if (row) yield row;
    }
  }
  return { mapping, rows: rows() };
}
