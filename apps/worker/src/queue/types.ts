import type { TenantClient } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

export type TaskType =
  | 'schedule_enrollment'
  | 'send_step'
  | 'noop'
  | 'verify_mailbox'
  | 'apply_retention'
  | 'run_import'
  | 'check_sending_domains';

/** A task as app.claim_tasks hands it over; `attempts` already counts this run. */
export interface ClaimedTask {
  organisation_id: string;
  id: string;
  type: TaskType;
  attempts: number;
  max_attempts: number;
  payload: Record<string, unknown>;
  enrollment_id: string | null;
  step_id: string | null;
  run_at: Date;
  /** W3C trace context of whatever enqueued the task (null when tracing was off). */
  trace_context: Record<string, string> | null;
}

export interface TaskContext {
  task: ClaimedTask;
  pool: Pool;
  clock: Clock;
  log: Logger;
  workerId: string;
  /** Aborted when the worker's grace period ends: stop before side effects and throw ReleasedError. */
  signal: AbortSignal;
  /**
   * Completes the task inside the caller's tenant transaction, so a handler's writes and the
   * task's completion commit together (or not at all).
   */
  complete(client: TenantClient, note?: string): Promise<void>;
  /**
   * For handlers that complete the task with their own statement inside their tenant transaction
   * (the same lease check as complete(): organisation, id, status running, locked_by workerId):
   * pass whether that statement updated the row. Throws when it did not (lease lost), so the
   * transaction rolls back.
   */
  completedInTransaction(updated: boolean): void;
}

export type TaskHandler = ((ctx: TaskContext) => Promise<void>) & {
  /**
   * Called with this type's tasks of each claimed batch before any of them runs (claim-ahead):
   * lets a handler start the reads those tasks will need, batched, while slots are still busy.
   */
  onClaimed?: (tasks: ClaimedTask[], pool: Pool) => void;
};
export type TaskHandlers = Partial<Record<TaskType, TaskHandler>>;
