import { DEDUPE_KEY, enqueue, TASKS, type TaskKind } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';

/** The task type a worker runs imports under (outreach.tasks, claimed by app.claim_import_tasks). */
export const IMPORT_TASK_TYPE = 'run_import' satisfies TaskKind;

/** Where an upload is kept until its import has finished: one object per import. */
export function importStorageKey(organisationId: string, importId: string, kind: 'csv' | 'json'): string {
  return `imports/${organisationId}/${importId}.${kind}`;
}

/**
 * Queues an import whose file is stored: one run_import task through outreach-core's `enqueue`
 * (TASKS.runImport: dedupe key `import:<id>`, so a second call while it is live is a no-op) and
 * the import marked queued with that task — in the caller's tenant transaction, so the import
 * never exists without its task.
 */
export async function enqueueImport(
  client: TenantClient,
  importId: string,
  options: {
    maxAttempts: number;
    /** W3C trace context of the request (the worker continues the trace); omitted: none. */
    traceContext?: Record<string, string> | null;
  },
): Promise<void> {
  await enqueue(
    client,
    TASKS.runImport(importId, {
      maxAttempts: options.maxAttempts,
      traceContext: options.traceContext ?? null,
    }),
  );
  // The live task is the one just inserted or, when the dedupe key was live already, that one.
  await client.query(
    `UPDATE crm.imports SET status = 'queued', rows_processed = 0,
            task_id = coalesce((SELECT id FROM outreach.tasks
                                 WHERE dedupe_key = $2 AND status IN ('pending', 'running')), task_id)
      WHERE id = $1::uuid`,
    [importId, DEDUPE_KEY.runImport(importId)],
  );
}
