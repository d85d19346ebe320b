import { runStoredImport } from '@prospectflow/import-engine';
import type { ObjectStorage } from '@prospectflow/object-storage';
import type { SubjectKeys } from '@prospectflow/outreach-core';
import { PermanentError } from '../queue/errors.js';
import type { TaskHandler } from '../queue/types.js';
import type { ImportMetrics } from './import-metrics.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ImportTaskDeps {
  /** Where the API stored the uploads (same STORAGE_* settings). */
  storage: ObjectStorage;
  /** Largest number of data rows per import. */
  maxRows?: number;
  /** PRIVACY_HMAC_KEYS: erased subjects are never imported again. */
  subjectKeys?: SubjectKeys;
  /** Progress counters on the worker's /metrics. */
  metrics?: ImportMetrics;
}

/**
 * run_import: the import of a stored upload, in one transaction of the task's organisation that
 * also completes the task (a worker that dies mid-import leaves nothing; the lease expires and
 * the next attempt starts from the stored file). Failures from the data are the import's outcome
 * (recorded, task done); other failures are thrown and retried, the last attempt records them.
 */
export function runImportTask(deps: ImportTaskDeps): TaskHandler {
  return async (ctx) => {
    const importId = String(ctx.task.payload.importId ?? '');
    if (!UUID.test(importId)) throw new PermanentError('run_import task without a valid importId');
    const { metrics } = deps;
    metrics?.running.inc();
    const outcome = await runStoredImport(
      ctx.pool,
      deps.storage,
      {
        tenant: { organisationId: ctx.task.organisation_id, userId: null },
        importId,
        attempt: ctx.task.attempts,
        maxAttempts: ctx.task.max_attempts,
        runBy: ctx.workerId,
        signal: ctx.signal,
        beforeCommit: (client) => ctx.complete(client),
        ...(deps.maxRows ? { maxRows: deps.maxRows } : {}),
        ...(deps.subjectKeys ? { subjectKeys: deps.subjectKeys } : {}),
        ...(metrics ? { onProgress: metrics.progressOf() } : {}),
      },
      ctx.log,
    ).finally(() => metrics?.running.dec());
    if (outcome && metrics) {
      metrics.finished.inc({ outcome: outcome.status });
      if (outcome.status === 'succeeded') {
        for (const result of ['inserted', 'updated', 'skipped', 'failed'] as const)
          metrics.rows.inc({ result }, outcome.counts[result]);
      }
    }
    if (outcome === null) ctx.log.info({ importId }, 'import already finished; task completed');
    else if (outcome.status === 'failed') ctx.log.warn({ importId, code: outcome.code }, 'import failed');
  };
}
