import type { TenantClient } from '@prospectflow/tenant-context';

/** Queues the worker's schedule task for these enrollments (one live task per enrollment). */
export async function enqueueScheduling(client: TenantClient, enrollmentIds: string[]): Promise<void> {
  if (enrollmentIds.length === 0) return;
  await client.query(
    `INSERT INTO outreach.tasks (type, run_at, enrollment_id, priority, dedupe_key)
     SELECT 'schedule_enrollment', now(), id, 10, 'schedule:' || id FROM unnest($1::uuid[]) AS id
     ON CONFLICT (organisation_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running') DO NOTHING`,
    [enrollmentIds],
  );
}

/** Cancels queued (not running) work of enrollments that stopped (reply, bounce, unsubscribe, pause). */
export async function cancelPendingTasks(client: TenantClient, enrollmentIds: string[]): Promise<void> {
  if (enrollmentIds.length === 0) return;
  await client.query(
    `UPDATE outreach.tasks SET status = 'cancelled', completed_at = now()
     WHERE enrollment_id = ANY ($1::uuid[]) AND status = 'pending'`,
    [enrollmentIds],
  );
}
