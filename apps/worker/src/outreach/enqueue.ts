import type { TenantClient } from '@prospectflow/tenant-context';

export interface NewTask {
  type: 'schedule_enrollment' | 'send_step' | 'noop';
  runAt: Date;
  enrollmentId?: string | null;
  stepId?: string | null;
  priority?: number;
  dedupeKey?: string | null;
  payload?: Record<string, unknown>;
  maxAttempts?: number;
}

/** Priorities (smaller first): bookkeeping beats sends; follow-ups beat first steps so caps never starve running sequences. */
export const PRIORITY = { schedule: 10, followUp: 50, firstStep: 100 } as const;

/**
 * Inserts a task in the current organisation. With a dedupe key, enqueueing again while one is
 * pending or running is a no-op (debounce). Returns whether a row was inserted.
 */
export async function enqueueTask(client: TenantClient, task: NewTask): Promise<boolean> {
  const { rowCount } = await client.query(
    `INSERT INTO outreach.tasks (type, run_at, enrollment_id, step_id, priority, dedupe_key, payload, max_attempts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (organisation_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running') DO NOTHING`,
    [
      task.type,
      task.runAt,
      task.enrollmentId ?? null,
      task.stepId ?? null,
      task.priority ?? 100,
      task.dedupeKey ?? null,
      task.payload ?? {},
      task.maxAttempts ?? 6,
    ],
  );
  return rowCount === 1;
}

export function sendStepKey(enrollmentId: string, stepId: string): string {
  return `send:${enrollmentId}:${stepId}`;
}
