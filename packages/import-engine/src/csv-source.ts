import type { Readable } from 'node:stream';
import { type CsvError, type Info, parse } from 'csv-parse';
import { type DetectedEncoding, decoder } from './encoding.js';
import { ImportFailure } from './errors.js';
import { IMPORT_FIELDS, type ImportField, MAX_CELL_LENGTH } from './fields.js';
import { assertUsable, type CustomMapping, type ResolvedMapping, resolveMapping } from './mapping.js';
import type { StagedRowError } from './staging.js';

export type Delimiter = ',' | ';' | '\t';

/** Counts delimiters outside quotes on the header line; `;` (French Excel) vs `,` vs tab. */
export function detectDelimiter(text: string): Delimiter {
  const counts = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && char in counts) counts[char as Delimiter]++;
  }
  if (counts[';'] > counts[','] && counts[';'] >= counts['\t']) return ';';
  if (counts['\t'] > counts[','] && counts['\t'] > counts[';']) return '\t';
  return ',';
}

/** One data row: canonical field values in IMPORT_FIELDS order, or the reason it cannot be staged. */
export interface SourceRow {
  rowNumber: number;
  values: (string | null)[];
  error?: StagedRowError;
}

export interface CsvReadOptions {
  encoding: DetectedEncoding;
  delimiter: Delimiter;
  mapping?: CustomMapping;
  /** Largest record csv-parse buffers (bytes of text); above it the file is refused. */
  maxRecordSize?: number;
}

export interface CsvRows {
  mapping: ResolvedMapping;
  rows: AsyncGenerator<SourceRow>;
}

const FIELD_INDEX = new Map<ImportField, number>(IMPORT_FIELDS.map((f, i) => [f, i]));

function newlines(record: readonly string[]): number {
  let count = 0;
  for (const cell of record) {
    if (cell.includes('\n')) count += cell.split('\n').length - 1;
  }
  return count;
}

/** Turns one parsed record into a SourceRow (checks size, NUL characters, extra cells). */
export function toSourceRow(
  record: readonly string[],
  rowNumber: number,
  pairs: ReadonlyArray<readonly [number, number]>,
  headerLength: number,
  headers: ResolvedMapping['headers'],
): SourceRow | undefined {
  let blank = true;
  for (const cell of record) {
    if (cell.trim() !== '') {
      blank = false;
      break;
    }
  }
  if (blank) return undefined;
  const values: (string | null)[] = new Array(IMPORT_FIELDS.length).fill(null);
  let error: StagedRowError | undefined;
  for (const [fieldIndex, column] of pairs) {
    const cell = record[column];
    if (cell === undefined || cell === '') continue;
    const field = IMPORT_FIELDS[fieldIndex]!;
    if (cell.length > MAX_CELL_LENGTH && !error) {
      error = {
        code: 'value_too_long',
        field,
        message: `${headers[field] ?? field} has ${cell.length} characters (at most ${MAX_CELL_LENGTH})`,
        raw: cell.slice(0, 200),
      };
    } else if (cell.includes('\0') && !error) {
      error = {
        code: 'invalid_character',
        field,
        message: 'The value contains a NUL character',
        raw: cell.replace(/\0/g, ''),
      };
    }
    values[fieldIndex] = cell;
  }
  if (!error && record.length > headerLength) {
    const extra = record.slice(headerLength).filter((cell) => cell.trim() !== '');
    if (extra.length > 0) {
      error = {
        code: 'column_count_mismatch',
        field: null,
        message: `The row has ${record.length} cells but the header has ${headerLength} (a delimiter or quote is probably misplaced)`,
        raw: record.join(' | ').slice(0, 1000),
      };
    }
  }
  return error
    ? { rowNumber, values: new Array(IMPORT_FIELDS.length).fill(null), error }
    : { rowNumber, values };
}

/** Field → column index pairs of a resolved mapping. */
export function mappingPairs(mapping: ResolvedMapping): Array<readonly [number, number]> {
  return Object.entries(mapping.columns).map(
    ([field, column]) => [FIELD_INDEX.get(field as ImportField)!, column!] as const,
  );
}

/**
 * Streams a CSV: decode → csv-parse → SourceRow. The header is read first (to resolve the mapping);
 * rows come one at a time. A record csv-parse cannot read (bad quoting) becomes a row error at its
 * line; the row number is the line the record starts on (the header is line 1).
 */
export async function readCsv(source: Readable, options: CsvReadOptions): Promise<CsvRows> {
  const skipped: SourceRow[] = [];
  const parser = parse({
    delimiter: options.delimiter,
    info: true,
    relax_quotes: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: options.maxRecordSize ?? 1024 * 1024,
    on_skip: (err: CsvError | undefined) => {
      if (!err) return;
      if (err.code === 'CSV_MAX_RECORD_SIZE') return; // handled as a file failure below
      const line = Number((err as unknown as { lines?: number }).lines) || 1;
      skipped.push({
        rowNumber: Math.max(2, line),
        values: new Array(IMPORT_FIELDS.length).fill(null),
        error: { code: 'malformed_csv', field: null, message: err.message.slice(0, 500) },
      });
    },
  });
  const text = source.pipe(decoder(options.encoding));
  source.on('error', (error) => text.destroy(error));
  text.on('error', (error) => parser.destroy(error));
  text.pipe(parser);
  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<{ record: string[]; info: Info }>;

  const translate = (error: unknown): unknown => {
    const code = (error as { code?: string }).code;
    if (code === 'CSV_MAX_RECORD_SIZE') {
      return new ImportFailure('record_too_large', 'A record is larger than the limit (an unclosed quote?)');
    }
    return error;
  };

  let first: IteratorResult<{ record: string[]; info: Info }>;
  try {
    first = await iterator.next();
  } catch (error) {
    throw translate(error);
  }
  if (first.done) throw new ImportFailure('empty_file', 'The file has no header row');
  const header = first.value.record;
  const mapping = resolveMapping(header, options.mapping);
  assertUsable(mapping);
  const pairs = mappingPairs(mapping);

  async function* rows(): AsyncGenerator<SourceRow> {
    try {
      while (true) {
        const next = await iterator.next();
        while (skipped.length > 0) yield skipped.shift()!;
        if (next.done) break;
        const { record, info } = next.value;
        const rowNumber = info.lines - newlines(record);
        const row = toSourceRow(record, rowNumber, pairs, header.length, mapping.headers);
        if (row) yield row;
      }
    } catch (error) {
      throw translate(error);
    } finally {
      source.destroy();
    }
  }
  return { mapping, rows: rows() };
}
