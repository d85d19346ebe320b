import { once } from 'node:events';
import type { TenantClient } from '@prospectflow/tenant-context';
import { from as copyFrom } from 'pg-copy-streams';
import { copyValue } from './copy-text.js';
import { IMPORT_FIELDS } from './fields.js';

/** A problem found before SQL sees the row (parsing, size, stray characters). */
export interface StagedRowError {
  code: string;
  /** Canonical field, or null for the whole row. */
  field: string | null;
  message: string;
  raw?: string | null;
}

export const STAGE_TABLE = 'pf_import_stage';

/** Unindexed, text-typed: COPY never fails on content, SQL validates afterwards. Dropped at commit. */
export function createStageSql(): string {
  const fields = IMPORT_FIELDS.map((f) => `${f} text`).join(', ');
  return `CREATE TEMP TABLE ${STAGE_TABLE} (row_number integer NOT NULL, err_code text, err_field text, err_message text, err_raw text, ${fields}) ON COMMIT DROP`;
}

const FLUSH_AT = 256 * 1024;

/**
 * Streams rows into the stage table with one COPY, batching lines into ~256 KB writes and
 * honouring backpressure, so memory stays flat whatever the file size.
 */
export class StagingWriter {
  #stream: ReturnType<typeof copyFrom>;
  #buffer = '';
  #done: Promise<void>;
  rows = 0;

  constructor(client: TenantClient) {
    const columns = ['row_number', 'err_code', 'err_field', 'err_message', 'err_raw', ...IMPORT_FIELDS].join(
      ', ',
    );
    this.#stream = client.query(copyFrom(`COPY ${STAGE_TABLE} (${columns}) FROM STDIN`));
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
    let line = `${rowNumber}\t`;
    if (error) {
      line += `${copyValue(error.code)}\t${copyValue(error.field)}\t${copyValue(error.message)}\t${copyValue(error.raw?.slice(0, 1000))}`;
    } else {
      line += '\\N\t\\N\t\\N\t\\N';
    }
    for (let i = 0; i < IMPORT_FIELDS.length; i++) line += `\t${copyValue(values[i])}`;
    this.#buffer += `${line}\n`;
    this.rows++;
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
    await this.#done;
    // 'finish' comes with CommandComplete; let pg see ReadyForQuery before the next query.
    await new Promise((resolve) => setImmediate(resolve));
  }

  /** On failure: stop the COPY; the enclosing transaction is rolled back by the caller. */
  abort(error: Error): void {
    this.#stream.destroy(error);
  }
}
