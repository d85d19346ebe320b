import type { TenantClient } from '@prospectflow/tenant-context';

/** The task type a worker runs imports under (outreach.tasks, claimed by app.claim_import_tasks). */
export const IMPORT_TASK_TYPE = 'run_import';

/** Where an upload is kept until its import has finished: one object per import. */
export function importStorageKey(organisationId: string, importId: string, kind: 'csv' | 'json'): string {
  return `imports/${organisationId}/${importId}.${kind}`;
}

/**
 * Queues an import whose file is stored: one run_import task (dedupe key `import:<id>`, so a
 * second call while it is live is a no-op) and the import marked queued — in the caller's tenant
 * transaction, so the import never exists without its task.
 */
export async function enqueueImport(
  client: TenantClient,
  importId: string,
  options: {
    maxAttempts: number;
    /** W3C trace context of the request (the worker continues the trace). */
    traceContext?: Record<string, string> | null;
  },
): Promise<void> {
  await client.query(
    `WITH task AS (
       INSERT INTO outreach.tasks (type, payload, dedupe_key, max_attempts, trace_context)
       VALUES ($3, jsonb_build_object('importId', $1::text), 'import:' || $1::text, $2, $4)
       ON CONFLICT (organisation_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running') DO NOTHING
       RETURNING id
     )
     UPDATE crm.imports SET status = 'queued', task_id = coalesce((SELECT id FROM task), task_id), rows_processed = 0
      WHERE id = $1::uuid`,
    [importId, options.maxAttempts, IMPORT_TASK_TYPE, options.traceContext ?? null],
  );
}
