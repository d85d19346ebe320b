import { runAsSystem, type TenantClient, withTenant } from '@prospectflow/tenant-context';
import type { Pool, QueryResultRow } from 'pg';
import { quietSystemScope } from '../logger.js';
import type { ClaimedTask } from './types.js';

/**
 * The worker's only cross-organisation statements, all SECURITY DEFINER functions owned by
 * prospectflow_system. They run on the system path (no organisation set, so any tenant table
 * would raise PF001). Everything else happens in the task's organisation.
 *
 * Each is a single statement, so it runs on a pooled connection without a transaction around it
 * (one round trip); runAsSystem still marks and guards the path.
 */
async function system<R extends QueryResultRow>(pool: Pool, text: string, values: unknown[]): Promise<R[]> {
  return await runAsSystem(
    'outreach worker queue',
    async () => (await pool.query<R>(text, values)).rows,
    quietSystemScope,
  );
}

export async function claimTasks(
  pool: Pool,
  workerId: string,
  limit: number,
  leaseSeconds: number,
  now: Date,
): Promise<ClaimedTask[]> {
  if (limit <= 0) return [];
  return await system<ClaimedTask>(pool, 'SELECT * FROM app.claim_tasks($1, $2, $3, $4)', [
    workerId,
    limit,
    leaseSeconds,
    now,
  ]);
}

/**
 * Claims due run_import tasks (which app.claim_tasks leaves alone): at most `perOrganisation`
 * running per organisation across every worker; the others stay queued.
 */
export async function claimImportTasks(
  pool: Pool,
  workerId: string,
  limit: number,
  leaseSeconds: number,
  perOrganisation: number,
  now: Date,
): Promise<ClaimedTask[]> {
  if (limit <= 0) return [];
  return await system<ClaimedTask>(pool, 'SELECT * FROM app.claim_import_tasks($1, $2, $3, $4, $5)', [
    workerId,
    limit,
    leaseSeconds,
    perOrganisation,
    now,
  ]);
}

export async function heartbeatTasks(
  pool: Pool,
  workerId: string,
  ids: string[],
  leaseSeconds: number,
): Promise<number> {
  if (ids.length === 0) return 0;
  const rows = await system<{ n: number }>(pool, 'SELECT app.heartbeat_tasks($1, $2::uuid[], $3) AS n', [
    workerId,
    ids,
    leaseSeconds,
  ]);
  return rows[0]?.n ?? 0;
}

export async function requeueExpiredTasks(pool: Pool): Promise<number> {
  const rows = await system<{ n: number }>(pool, 'SELECT app.requeue_expired_tasks() AS n', []);
  return rows[0]?.n ?? 0;
}

/** Completes tasks this worker holds whose handlers wrote nothing themselves (batched). */
export async function completeTasks(
  pool: Pool,
  workerId: string,
  tasks: ClaimedTask[],
  now: Date,
): Promise<number> {
  if (tasks.length === 0) return 0;
  const rows = await system<{ n: number }>(
    pool,
    'SELECT app.complete_tasks($1, $2::uuid[], $3::uuid[], $4) AS n',
    [workerId, tasks.map((t) => t.organisation_id), tasks.map((t) => t.id), now],
  );
  return rows[0]?.n ?? 0;
}

/**
 * Hands back claimed tasks that never started (shutdown): pending again, attempt refunded. One
 * tenant unit per organisation; only tasks still leased by this worker change.
 */
export async function releaseTasks(pool: Pool, workerId: string, tasks: ClaimedTask[]): Promise<number> {
  const byOrganisation = new Map<string, string[]>();
  for (const t of tasks)
    byOrganisation.set(t.organisation_id, [...(byOrganisation.get(t.organisation_id) ?? []), t.id]);
  let released = 0;
  for (const [organisationId, ids] of byOrganisation) {
    released += await inTenant(pool, organisationId, async (client) => {
      const { rowCount } = await client.query(
        `UPDATE outreach.tasks SET status = 'pending', locked_by = NULL, locked_until = NULL,
           attempts = greatest(attempts - 1, 0)
         WHERE organisation_id = $1 AND id = ANY ($2::uuid[]) AND status = 'running' AND locked_by = $3`,
        [organisationId, ids, workerId],
      );
      return rowCount ?? 0;
    });
  }
  return released;
}

export interface QueueStats {
  ready: number;
  deferred: number;
  running: number;
  oldestReadySeconds: number;
}

export async function queueStats(pool: Pool, now: Date): Promise<QueueStats> {
  const [row] = await system<Record<string, unknown>>(pool, 'SELECT * FROM app.task_queue_stats($1)', [now]);
  return {
    ready: Number(row?.ready ?? 0),
    deferred: Number(row?.deferred ?? 0),
    running: Number(row?.running ?? 0),
    oldestReadySeconds: Number(row?.oldest_ready_seconds ?? 0),
  };
}

/** Runs `fn` in one transaction of the task's organisation (RLS applies to every statement). */
export async function inTenant<T>(
  pool: Pool,
  organisationId: string,
  fn: (client: TenantClient) => Promise<T>,
): Promise<T> {
  return await withTenant(pool, { organisationId }, fn);
}

// Every transition below matches locked_by: a worker whose lease was taken over changes nothing.
const OWNED = 'organisation_id = $1 AND id = $2 AND status = $3 AND locked_by = $4';

export async function markSucceeded(
  client: TenantClient,
  task: ClaimedTask,
  workerId: string,
  now: Date,
  note?: string,
): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE outreach.tasks SET status = 'succeeded', locked_by = NULL, locked_until = NULL, completed_at = $5,
       last_error = coalesce($6, last_error)
     WHERE ${OWNED}`,
    [task.organisation_id, task.id, 'running', workerId, now, note ?? null],
  );
  return rowCount === 1;
}

/** Back to pending at `runAt`; `refund` gives the claimed attempt back (snooze, release). */
export async function markPending(
  client: TenantClient,
  task: ClaimedTask,
  workerId: string,
  runAt: Date,
  options: { refund: boolean; error?: string },
): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE outreach.tasks SET status = 'pending', locked_by = NULL, locked_until = NULL, run_at = $5,
       attempts = CASE WHEN $6 THEN greatest(attempts - 1, 0) ELSE attempts END,
       last_error = coalesce($7, last_error)
     WHERE ${OWNED}`,
    [task.organisation_id, task.id, 'running', workerId, runAt, options.refund, options.error ?? null],
  );
  return rowCount === 1;
}

export async function markFailed(
  client: TenantClient,
  task: ClaimedTask,
  workerId: string,
  now: Date,
  error: string,
): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE outreach.tasks SET status = 'failed', locked_by = NULL, locked_until = NULL, completed_at = $5, last_error = $6
     WHERE ${OWNED}`,
    [task.organisation_id, task.id, 'running', workerId, now, error],
  );
  return rowCount === 1;
}
