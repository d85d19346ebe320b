import { once } from 'node:events';
import type { TenantClient } from '@prospectflow/tenant-context';
import { from as copyFrom } from 'pg-copy-streams';
import { copyValue } from './copy-text.js';
import { STAGED_COLUMNS } from './fields.js';
import { normaliseRow } from './normalise.js';
import { PhoneNormaliser } from './phones.js';
import { rowErrors } from './row-checks.js';

/** A problem found before SQL sees the row (parsing, size, stray characters). */
export interface StagedRowError {
  code: string;
  /** Canonical field, or null for the whole row. */
  field: string | null;
  message: string;
  raw?: string | null;
}

export const STAGE_TABLE = 'pf_import_stage';

const COLUMNS = ['row_number', 'err_code', 'err_field', 'err_message', 'err_raw', ...STAGED_COLUMNS];

/**
 * Unindexed, text-typed, dropped at commit. A row arrives normalised and checked: either one line
 * of stored values (err_* NULL), or one line per error with no values.
 */
export function createStageSql(): string {
  const values = STAGED_COLUMNS.map((c) => `${c} text`).join(', ');
  return `CREATE TEMP TABLE ${STAGE_TABLE} (row_number integer NOT NULL, err_code text, err_field text, err_message text, err_raw text, ${values}) ON COMMIT DROP`;
}

const NO_VALUES = '\t\\N'.repeat(STAGED_COLUMNS.length);
const NO_ERROR = '\\N\t\\N\t\\N\t\\N';

function errorLine(rowNumber: number, error: StagedRowError): string {
  return `${rowNumber}\t${copyValue(error.code)}\t${copyValue(error.field)}\t${copyValue(error.message)}\t${copyValue(error.raw?.slice(0, 1000))}${NO_VALUES}\n`;
}

const FLUSH_AT = 256 * 1024;

/**
 * Normalises and checks each row (field rules in TypeScript, while the file is read) and streams
 * the result into the stage table with one COPY, batching lines into ~256 KB writes and honouring
 * backpressure, so memory stays flat whatever the file size.
 */
export class StagingWriter {
  #stream: ReturnType<typeof copyFrom>;
  #buffer = '';
  #done: Promise<void>;
  #phones = new PhoneNormaliser();
  rows = 0;

  constructor(client: TenantClient) {
    this.#stream = client.query(copyFrom(`COPY ${STAGE_TABLE} (${COLUMNS.join(', ')}) FROM STDIN`));
    this.#done = new Promise((resolve, reject) => {
      this.#stream.on('finish', resolve);
      this.#stream.on('error', reject);
    });
    // Surface COPY errors through #done only.
    this.#done.catch(() => {});
  }

  async write(
    rowNumber: number,
    values: ReadonlyArray<string | null | undefined>,
    error?: StagedRowError,
  ): Promise<void> {
    this.rows++;
    if (error) {
      this.#buffer += errorLine(rowNumber, error);
    } else {
      const row = normaliseRow(values, this.#phones);
      const errors = rowErrors(row);
      if (errors.length > 0) {
        for (const one of errors) this.#buffer += errorLine(rowNumber, one);
      } else {
        let line = `${rowNumber}\t${NO_ERROR}`;
        for (const column of STAGED_COLUMNS) line += `\t${copyValue(row.stored[column])}`;
        this.#buffer += `${line}\n`;
      }
    }
    if (this.#buffer.length >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const chunk = this.#buffer;
    this.#buffer = '';
    if (!this.#stream.write(chunk)) {
      await Promise.race([once(this.#stream, 'drain'), this.#done]);
    }
  }

  async end(): Promise<void> {
    await this.flush();
    this.#stream.end();
    // The tenant client hands the next statement to pg only once pg is done with the COPY.
    await this.#done;
  }

  /** On failure: stop the COPY; the enclosing transaction is rolled back by the caller. */
  abort(error: Error): void {
    this.#stream.destroy(error);
  }
}
