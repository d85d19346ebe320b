import type { Readable } from 'node:stream';
import { loadSubjectKeys, type SubjectKeys } from '@prospectflow/outreach-core';
import { lockOrganisation, type TenantClient } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import { type Delimiter, readCsv, type SourceRow } from './csv-source.js';
import type { DetectedEncoding } from './encoding.js';
import { flagErasedRows, IMPORT_PROVENANCE_SQL } from './erased-subjects.js';
import { ImportAlreadyFinished, ImportFailure } from './errors.js';
import { readJsonRows } from './json-source.js';
import type { CustomMapping, ResolvedMapping } from './mapping.js';
import { COUNTS_SQL, PIPELINE, SAVE_ERRORS_SQL } from './pipeline-sql.js';
import { ProgressReporter } from './progress.js';
import { markFailed, markRunning } from './repository.js';
import { createStageSql, StagingWriter } from './staging.js';
import { inTenantUnit, type Tenant } from './tenant-unit.js';

export type ImportSource =
  | { kind: 'csv'; open: () => Readable; encoding: DetectedEncoding; delimiter: Delimiter }
  | { kind: 'json'; rows: readonly unknown[] };

export interface ImportJob {
  importId: string;
  tenant: Tenant;
  source: ImportSource;
  mapping?: CustomMapping;
  /** Refuse files with more data rows than this (default 2,000,000). */
  maxRows?: number;
  signal?: AbortSignal;
  progressIntervalMs?: number;
  /** Keys of the hashed suppression list (default: PRIVACY_HMAC_KEYS from the environment). */
  subjectKeys?: SubjectKeys;
  /**
   * Runs inside the import's transaction just before it commits (the worker completes its task
   * there, so the rows, the final status and the task's completion commit together or not at all).
   */
  beforeCommit?: (client: TenantClient) => Promise<void>;
  /**
   * Failures that do not come from the data (connection lost, shutdown, lease lost…) are thrown
   * instead of recorded when this says so, so the caller can retry the import from its file.
   */
  throwTransient?: boolean | ((error: unknown) => boolean);
  /** Who runs this attempt (worker id), recorded on the import. */
  runBy?: string;
  /** Rows read so far (every 1,024 rows and at the end of the file): the worker's metrics. */
  onProgress?: (rowsRead: number) => void;
}

export interface ImportCounts {
  total: number;
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
}

export type ImportOutcome =
  | { status: 'succeeded'; counts: ImportCounts; mapping: ResolvedMapping }
  | { status: 'failed'; code: string; message: string };

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/**
 * The organisation lock imports take to match and write, and undos to plan (lockOrganisation):
 * without it two imports both saw a SIREN or email as new (the later commit failed on the unique
 * key), and an undo planned without seeing an import committing over its rows, then deleted what
 * that import had just updated. Each statement after it sees what the one before committed.
 */
export const IMPORT_WRITES = 'crm-import-write';

/**
 * Failures that come from the data: running the import again from the same file cannot help. A
 * unique violation is not one of them: a row another connection (the API, a legacy import)
 * committed while this import was writing collides with a row the import meant to insert, and the
 * next attempt matches and updates it instead. One the file itself causes fails on the last attempt.
 */
export function isDataFailure(error: unknown): boolean {
  if (error instanceof ImportFailure) return true;
  const code = (error as { code?: unknown })?.code;
  if (code === '23505') return false;
  return typeof code === 'string' && (code.startsWith('23') || code.startsWith('22'));
}

/** Database errors that come from the data, not from us (they end the import as failed, not 5xx). */
function describe(error: unknown): { code: string; message: string } {
  if (error instanceof ImportFailure) return { code: error.code, message: error.message };
  const pg = error as { code?: string; message?: string; constraint?: string };
  if (pg?.code === '23505')
    return { code: 'conflict', message: `A unique constraint was violated (${pg.constraint ?? 'unknown'})` };
  if (pg?.code?.startsWith('23'))
    return { code: 'constraint_violation', message: pg.message ?? 'constraint violated' };
  if (pg?.code === '57014') return { code: 'import_cancelled', message: 'The import was cancelled' };
  if ((error as Error)?.name === 'AbortError')
    return { code: 'import_aborted', message: 'The import was stopped (server shutting down)' };
  return { code: 'import_failed', message: (error as Error)?.message ?? String(error) };
}

/**
 * Runs one import: every row normalised and checked while it is read, staged with COPY and
 * matched and written by set-based SQL in ONE transaction
 * under the tenant, so either all of it is committed (with its per-row errors and final status)
 * or none of it. Progress is published from other connections while it runs; a failure is
 * recorded on the import row in a separate transaction after the rollback.
 */
export async function runImport(pool: Pool, job: ImportJob, logger: Logger = silent): Promise<ImportOutcome> {
  const { tenant, importId } = job;
  const maxRows = job.maxRows ?? 2_000_000;
  const progress = new ProgressReporter(pool, tenant, importId, {
    intervalMs: job.progressIntervalMs,
    onError: (error) => logger.warn({ err: error, importId }, 'import progress write failed'),
  });
  await markRunning(pool, tenant, importId, { runBy: job.runBy ?? null });
  progress.start();
  let readable: Readable | undefined;
  const onAbort = () => readable?.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' }));
  job.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (job.signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    const startedAt = Date.now();
    const outcome = await inTenantUnit(pool, tenant, async (client) => {
      // One attempt at a time: an attempt claimed while an earlier one is still running (its
      // worker lost the lease) waits here for that one's transaction, then stops if it finished.
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))', [importId]);
      const { rows: current } = await client.query<{ status: string }>(
        'SELECT status FROM crm.imports WHERE id = $1',
        [importId],
      );
      if (current[0]?.status === 'succeeded' || current[0]?.status === 'failed') {
        throw new ImportAlreadyFinished(importId);
      }
      // Provenance: every row this transaction writes records this import (migration 0870).
      await client.query(IMPORT_PROVENANCE_SQL, [importId, job.source.kind]);
      let mapping: ResolvedMapping;
      let rows: AsyncIterable<SourceRow> | Iterable<SourceRow>;
      if (job.source.kind === 'csv') {
        readable = job.source.open();
        ({ mapping, rows } = await readCsv(readable, {
          encoding: job.source.encoding,
          delimiter: job.source.delimiter,
          mapping: job.mapping,
        }));
      } else {
        ({ mapping, rows } = readJsonRows(job.source.rows, job.mapping));
      }
      await client.query(createStageSql());
      const writer = new StagingWriter(client);
      try {
        for await (const row of rows) {
          if (writer.rows >= maxRows) {
            throw new ImportFailure('too_many_rows', `The import has more than ${maxRows} rows`);
          }
          await writer.write(row.rowNumber, row.values, row.error);
          if ((writer.rows & 1023) === 0) {
            progress.set(writer.rows);
            job.onProgress?.(writer.rows);
          }
        }
        await writer.end();
      } catch (error) {
        writer.abort(error as Error);
        throw error;
      }
      progress.set(writer.rows);
      job.onProgress?.(writer.rows);
      const timings: Record<string, number> = { stage: Date.now() - startedAt };
      // Reading and staging above run alongside other imports; matching and writing do not.
      await lockOrganisation(client, IMPORT_WRITES);
      for (const [step, sql] of PIPELINE) {
        const stepStart = Date.now();
        try {
          if (step === 'skip_suppressed_and_duplicates')
            await flagErasedRows(client, job.subjectKeys ?? loadSubjectKeys(), 'pf_import_ok');
          await client.query(sql);
          timings[step] = Date.now() - stepStart;
        } catch (error) {
          logger.error({ err: error, importId, step }, 'import step failed');
          throw error;
        }
      }
      const { rows: countRows } = await client.query<ImportCounts>(COUNTS_SQL, [writer.rows]);
      const counts = countRows[0]!;
      await client.query(SAVE_ERRORS_SQL, [importId, JSON.stringify(mapping.headers)]);
      await progress.stop();
      logger.debug?.({ importId, timings }, 'import steps (ms)');
      await client.query(
        `UPDATE crm.imports SET status = 'succeeded', finished_at = clock_timestamp(), rows_total = $2, rows_processed = $2,
                inserted = $3, updated = $4, skipped = $5, failed = $6,
                mapping = mapping || jsonb_build_object('resolved', $7::jsonb, 'ignored', $8::jsonb)
          WHERE id = $1`,
        [
          importId,
          counts.total,
          counts.inserted,
          counts.updated,
          counts.skipped,
          counts.failed,
          JSON.stringify(mapping.headers),
          JSON.stringify(mapping.ignored),
        ],
      );
      await job.beforeCommit?.(client);
      return { status: 'succeeded' as const, counts, mapping };
    });
    logger.info({ importId, counts: outcome.counts }, 'import succeeded');
    return outcome;
  } catch (error) {
    await progress.stop();
    if (error instanceof ImportAlreadyFinished) throw error;
    const rethrow =
      typeof job.throwTransient === 'function' ? job.throwTransient(error) : job.throwTransient === true;
    if (rethrow && !isDataFailure(error)) {
      logger.warn({ err: error, importId }, 'import attempt stopped; nothing was imported');
      throw error;
    }
    const { code, message } = describe(error);
    logger.warn({ err: error, importId, code }, 'import failed; nothing was imported');
    await markFailed(pool, tenant, importId, code, message).catch((markError) =>
      logger.error({ err: markError, importId }, 'could not record the import failure'),
    );
    return { status: 'failed', code, message };
  } finally {
    job.signal?.removeEventListener('abort', onAbort);
    readable?.destroy();
  }
}
