import type { Pool } from 'pg';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import { type BackoffOptions, backoffDelayMs, DEFAULT_BACKOFF } from './backoff.js';
import { PermanentError, ReleasedError, SnoozeError } from './errors.js';
import { inTenant, markFailed, markPending } from './sql.js';
import type { ClaimedTask } from './types.js';

export interface FailureContext {
  pool: Pool;
  workerId: string;
  now: Date;
  /** The worker is shutting down: an abort is a release, not a failure. */
  stopping: boolean;
  backoff?: BackoffOptions;
  metrics: WorkerMetrics;
  log: Logger;
}

/**
 * Maps a handler's error to the task's next state, in the task's organisation: snoozed (attempt
 * refunded), released at shutdown (refunded), failed for good, or retried after a backoff.
 */
export async function settleFailure(task: ClaimedTask, error: unknown, c: FailureContext): Promise<void> {
  const { metrics, log, now, workerId } = c;
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  await inTenant(c.pool, task.organisation_id, async (client) => {
    if (error instanceof SnoozeError) {
      await markPending(client, task, workerId, error.until, {
        refund: true,
        error: `snoozed: ${error.reason}`,
      });
      metrics.snoozed.inc({ type: task.type });
      log.info({ until: error.until.toISOString(), reason: error.reason }, 'task snoozed');
    } else if (error instanceof ReleasedError || (c.stopping && isAbort(error))) {
      await markPending(client, task, workerId, now, { refund: true });
      metrics.released.inc({ type: task.type });
      log.info('task released at shutdown');
    } else if (error instanceof PermanentError || task.attempts >= task.max_attempts) {
      await markFailed(client, task, workerId, now, message);
      metrics.failed.inc({ type: task.type });
      log.error({ err: error }, 'task failed');
    } else {
      const delay = backoffDelayMs(task.attempts, c.backoff ?? DEFAULT_BACKOFF);
      await markPending(client, task, workerId, new Date(now.getTime() + delay), {
        refund: false,
        error: message,
      });
      metrics.retried.inc({ type: task.type });
      log.warn({ err: error, retryInMs: delay }, 'task will be retried');
    }
  });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error instanceof ReleasedError);
}
