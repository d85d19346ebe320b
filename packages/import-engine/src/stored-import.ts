import { ObjectNotFoundError, type ObjectStorage } from '@prospectflow/object-storage';
import type { SubjectKeys } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import type { Delimiter } from './csv-source.js';
import type { SourceEncoding } from './encoding.js';
import { ImportAlreadyFinished } from './errors.js';
import type { CustomMapping } from './mapping.js';
import { markFailed } from './repository.js';
import { type ImportOutcome, type ImportSource, runImport } from './run-import.js';
import { inTenantUnit, type Tenant } from './tenant-unit.js';

export interface StoredImportJob {
  tenant: Tenant;
  importId: string;
  /** This attempt (1-based) and how many are allowed: the last one records any failure. */
  attempt: number;
  maxAttempts: number;
  runBy: string;
  signal?: AbortSignal;
  /** Completes the task inside the import's transaction (worker lease check). */
  beforeCommit?: (client: TenantClient) => Promise<void>;
  maxRows?: number;
  progressIntervalMs?: number;
  /** Keys of the hashed suppression list (default: PRIVACY_HMAC_KEYS from the environment). */
  subjectKeys?: SubjectKeys;
  /** Rows read so far (see ImportJob.onProgress). */
  onProgress?: (rowsRead: number) => void;
}

interface StoredRow {
  status: string;
  created_by: string | null;
  source_kind: 'csv' | 'json' | 'sqlite';
  storage_key: string | null;
  mapping: {
    request?: CustomMapping;
    encoding?: SourceEncoding;
    bomLength?: number;
    delimiter?: Delimiter;
  };
}

type Logger = Parameters<typeof runImport>[2];

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Runs an import from its stored upload (the worker's run_import task). Returns null when the
 * import had already finished (a retry of a task whose outcome was recorded). Failures from the
 * data end the import as failed; other failures are thrown so the task is retried from the stored
 * file, except on the last attempt, which records them. The upload is deleted once the import has
 * an outcome.
 */
export async function runStoredImport(
  pool: Pool,
  storage: ObjectStorage,
  job: StoredImportJob,
  logger?: Logger,
): Promise<ImportOutcome | null> {
  const { importId } = job;
  const row = await inTenantUnit(pool, job.tenant, async (client) => {
    const { rows } = await client.query<StoredRow>(
      'SELECT status, created_by, source_kind, storage_key, mapping FROM crm.imports WHERE id = $1',
      [importId],
    );
    return rows[0];
  });
  if (!row || row.status === 'succeeded' || row.status === 'failed') return null;
  // The rows are written on behalf of whoever uploaded the file (provenance, audit log).
  const tenant: Tenant = { organisationId: job.tenant.organisationId, userId: row.created_by };
  const last = job.attempt >= job.maxAttempts;
  let source: ImportSource;
  try {
    if (!row.storage_key) throw new ObjectNotFoundError('(none)');
    const body = await storage.get(row.storage_key, job.signal ? { signal: job.signal } : {});
    if (row.source_kind === 'json') {
      source = { kind: 'json', rows: JSON.parse((await readAll(body)).toString('utf8')) as unknown[] };
    } else {
      source = {
        kind: 'csv',
        open: () => body,
        encoding: { encoding: row.mapping.encoding ?? 'utf8', bomLength: row.mapping.bomLength ?? 0 },
        delimiter: row.mapping.delimiter ?? ';',
      };
    }
  } catch (error) {
    if (!(error instanceof ObjectNotFoundError) && !last) throw error;
    const missing = error instanceof ObjectNotFoundError;
    const code = missing ? 'upload_missing' : 'import_failed';
    const message = missing
      ? 'The uploaded file is no longer in object storage; upload it again'
      : `The uploaded file could not be read after ${job.attempt} attempts: ${(error as Error).message}`;
    await markFailed(pool, tenant, importId, code, message);
    // The outcome is recorded: an unreadable upload is not kept either (personal data).
    if (!missing) await storage.delete(row.storage_key!).catch(() => {});
    return { status: 'failed', code, message };
  }
  let outcome: ImportOutcome;
  try {
    outcome = await runImport(
      pool,
      {
        importId,
        tenant,
        source,
        mapping: row.mapping.request ?? {},
        signal: job.signal,
        beforeCommit: job.beforeCommit,
        // A shutdown hands the task back whatever the attempt (it is not the import's failure).
        throwTransient: () => !last || job.signal?.aborted === true,
        runBy: job.runBy,
        ...(job.maxRows ? { maxRows: job.maxRows } : {}),
        ...(job.progressIntervalMs ? { progressIntervalMs: job.progressIntervalMs } : {}),
        ...(job.subjectKeys ? { subjectKeys: job.subjectKeys } : {}),
        ...(job.onProgress ? { onProgress: job.onProgress } : {}),
      },
      logger,
    );
  } catch (error) {
    // An earlier attempt that had lost its lease finished it meanwhile: this task is simply done.
    if (error instanceof ImportAlreadyFinished) return null;
    throw error;
  } finally {
    if (source.kind === 'csv') source.open().destroy();
  }
  // The outcome is recorded: the upload (personal data) is not kept.
  await storage.delete(row.storage_key).catch(() => {});
  return outcome;
}
