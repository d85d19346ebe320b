import type { Pool } from 'pg';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from '../metrics.js';
import type { ClaimedTask, TaskHandlers, TaskType } from './types.js';

/** Counts a claimed batch and how late its tasks were (run_at to claim). */
export function recordClaimed(metrics: WorkerMetrics, tasks: ClaimedTask[], now: Date): void {
  const nowMs = now.getTime();
  let type: TaskType | undefined;
  let ofType = 0;
  for (const task of tasks) {
    // Counted per run of one type (a batch is mostly one or two types): one inc per run.
    if (task.type !== type) {
      if (type !== undefined) metrics.claimed.inc({ type }, ofType);
      type = task.type;
      ofType = 0;
    }
    ofType += 1;
    metrics.lag.observe(Math.max(0, (nowMs - new Date(task.run_at).getTime()) / 1000));
  }
  if (type !== undefined) metrics.claimed.inc({ type }, ofType);
}

/** Hands each handler with an onClaimed hook its tasks of the batch (it may start their reads). */
export function announceClaimed(handlers: TaskHandlers, tasks: ClaimedTask[], pool: Pool, log: Logger): void {
  const byType = new Map<TaskType, ClaimedTask[]>();
  for (const t of tasks) {
    if (!handlers[t.type]?.onClaimed) continue;
    const ofType = byType.get(t.type);
    if (ofType) ofType.push(t);
    else byType.set(t.type, [t]);
  }
  for (const [type, ofType] of byType) {
    try {
      handlers[type]!.onClaimed!(ofType, pool);
    } catch (error) {
      log.warn({ err: error, type }, 'onClaimed hook failed; the tasks read when they run');
    }
  }
}
