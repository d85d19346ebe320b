import type { Pool } from 'pg';
import type { ClaimedTask } from '../../queue/types.js';
import { ALL, batchers } from './batchers.js';
import type { SendStateRow } from './statements.js';

/**
 * Claim-ahead reads: when the worker claims send_step tasks, their state reads start at once,
 * batched across organisations, while the slots are still busy — a task entering a slot finds its
 * facts read instead of waiting a round trip for them. The fast path needs nothing fresher: the
 * reservation re-checks every fact it acts on under its locks. A read older than MAX_AGE_MS (the
 * task waited long for a slot) is not used.
 */
const MAX_AGE_MS = 10_000;
const ahead = new WeakMap<ClaimedTask, { at: number; state: Promise<SendStateRow | undefined> }>();

export function readAhead(tasks: ClaimedTask[], pool: Pool): void {
  const at = Date.now();
  for (const task of tasks) {
    if (!task.enrollment_id || !task.step_id) continue;
    const state = batchers(pool).state.call(ALL, {
      organisation: task.organisation_id,
      enrollment: task.enrollment_id,
      step: task.step_id,
    });
    state.catch(() => {}); // read again when the task runs
    ahead.set(task, { at, state });
  }
}

/** The fast path's read: the one started at claim when it is recent and succeeded, else a new one. */
export async function readState(
  task: ClaimedTask,
  pool: Pool,
  args: { enrollment: string; step: string },
): Promise<SendStateRow | undefined> {
  const early = ahead.get(task);
  ahead.delete(task);
  if (early && Date.now() - early.at <= MAX_AGE_MS) {
    try {
      return await early.state;
    } catch {
      // fall through: read again
    }
  }
  return await batchers(pool).state.call(ALL, { organisation: task.organisation_id, ...args });
}
