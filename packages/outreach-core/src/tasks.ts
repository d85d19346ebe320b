import { type TraceCarrier, traceCarrier } from '@prospectflow/telemetry';
import type { Queryable } from './stats.js';

/**
 * The outreach task queue's domain, defined once: the task kinds, their priorities and dedupe
 * keys, and the ONE `enqueue` every producer uses (the API's activation and enrollment, mailbox
 * and sending-domain verification, the worker's scheduling). The SQL functions that enqueue for
 * speed (app.record_sent, app.enqueue_retention_tasks, app.enqueue_domain_checks) are checked
 * against these definitions by tests (apps/worker/test/outreach-domain.test.ts).
 */

/**
 * outreach.tasks.type (CHECK tasks_type_check; apps/worker/test/outreach-domain.test.ts compares
 * them). `run_import` is queued by @prospectflow/import-engine (enqueueImport, through `enqueue`
 * and TASKS.runImport) and claimed apart (app.claim_import_tasks).
 */
export const TASK_KINDS = [
  'schedule_enrollment',
  'send_step',
  'noop',
  'verify_mailbox',
  'apply_retention',
  'run_import',
  'check_sending_domains',
] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/**
 * Priorities (smaller first): bookkeeping beats sends; follow-ups beat first steps so caps never
 * starve running sequences; retention and domain re-checks run when nothing else waits.
 */
export const PRIORITY = {
  schedule: 10,
  verifyMailbox: 20,
  followUp: 50,
  firstStep: 100,
  default: 100,
  retention: 200,
  domainChecks: 200,
} as const;

/** Attempts before a task fails for good (the column's default when a kind says nothing). */
export const DEFAULT_MAX_ATTEMPTS = 6;

/** Dedupe keys: while a task with the key is pending or running, enqueueing it again is a no-op. */
export const DEDUPE_KEY = {
  schedule: (enrollmentId: string) => `schedule:${enrollmentId}`,
  sendStep: (enrollmentId: string, stepId: string) => `send:${enrollmentId}:${stepId}`,
  verifyMailbox: (mailboxId: string, credentialsVersion: number | string) =>
    `verify:${mailboxId}:${credentialsVersion}`,
  retention: () => 'retention',
  domainChecks: () => 'domain-checks',
  runImport: (importId: string) => `import:${importId}`,
} as const;

export interface NewTask {
  type: TaskKind;
  /** Omitted: now (the database's clock). */
  runAt?: Date;
  enrollmentId?: string | null;
  stepId?: string | null;
  priority: number;
  dedupeKey: string | null;
  payload?: Record<string, unknown>;
  maxAttempts?: number;
  /** W3C trace context the task continues; omitted: the active trace (the request's or task's). */
  traceContext?: TraceCarrier | null;
}

/** The tasks of the domain, with their priority and dedupe key. */
export const TASKS = {
  /** Schedules an enrollment's next step (activation, re-activation, enrollment into an active campaign). */
  scheduleEnrollment: (enrollmentId: string, runAt?: Date): NewTask => ({
    type: 'schedule_enrollment',
    runAt,
    enrollmentId,
    priority: PRIORITY.schedule,
    dedupeKey: DEDUPE_KEY.schedule(enrollmentId),
  }),
  /** Sends step `step` of an enrollment at `runAt` (the first step waits behind follow-ups). */
  sendStep: (enrollmentId: string, step: { id: string; step_order: number }, runAt: Date): NewTask => ({
    type: 'send_step',
    runAt,
    enrollmentId,
    stepId: step.id,
    priority: step.step_order === 1 ? PRIORITY.firstStep : PRIORITY.followUp,
    dedupeKey: DEDUPE_KEY.sendStep(enrollmentId, step.id),
  }),
  /** Checks a mailbox at one credentials version (one live task per version). */
  verifyMailbox: (mailboxId: string, credentialsVersion: number): NewTask => ({
    type: 'verify_mailbox',
    payload: { mailboxId, credentialsVersion },
    priority: PRIORITY.verifyMailbox,
    dedupeKey: DEDUPE_KEY.verifyMailbox(mailboxId, credentialsVersion),
  }),
  /** Applies the organisation's retention rules (app.enqueue_retention_tasks enqueues it in SQL). */
  applyRetention: (runAt?: Date): NewTask => ({
    type: 'apply_retention',
    runAt,
    priority: PRIORITY.retention,
    dedupeKey: DEDUPE_KEY.retention(),
    maxAttempts: 3,
  }),
  /**
   * Checks the DNS proof of every proved sending domain of the organisation again
   * (app.enqueue_domain_checks enqueues it in SQL, for organisations with a proof checked too long ago).
   */
  checkSendingDomains: (runAt?: Date): NewTask => ({
    type: 'check_sending_domains',
    runAt,
    priority: PRIORITY.domainChecks,
    dedupeKey: DEDUPE_KEY.domainChecks(),
    maxAttempts: 3,
  }),
  /** Runs a stored import (one live task per import; app.claim_import_tasks claims it, not claim_tasks). */
  runImport: (
    importId: string,
    options: { maxAttempts: number; traceContext?: TraceCarrier | null },
  ): NewTask => ({
    type: 'run_import',
    payload: { importId },
    priority: PRIORITY.default,
    dedupeKey: DEDUPE_KEY.runImport(importId),
    maxAttempts: options.maxAttempts,
    traceContext: options.traceContext,
  }),
} as const;

/** The dedupe rule, as the partial unique index tasks_live_dedupe_key spells it. */
export const ENQUEUE_ON_CONFLICT =
  "ON CONFLICT (organisation_id, dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('pending', 'running') DO NOTHING";

const ENQUEUE_SQL = `INSERT INTO outreach.tasks (type, run_at, enrollment_id, step_id, priority, dedupe_key, payload, max_attempts,
  trace_context)
SELECT t.type, coalesce(t.run_at, now()), t.enrollment_id, t.step_id, t.priority, t.dedupe_key, coalesce(t.payload, '{}'), t.max_attempts,
  t.trace_context
FROM jsonb_to_recordset($1::jsonb) AS t(type text, run_at timestamptz, enrollment_id uuid, step_id uuid, priority smallint,
  dedupe_key text, payload jsonb, max_attempts integer, trace_context jsonb)
${ENQUEUE_ON_CONFLICT}`;

/**
 * Inserts tasks in the client's organisation (RLS: the tenant transaction's), in one statement.
 * A task whose dedupe key is already pending or running is skipped. Returns how many were inserted.
 */
export async function enqueue(client: Queryable, tasks: NewTask | readonly NewTask[]): Promise<number> {
  const list = Array.isArray(tasks) ? tasks : [tasks as NewTask];
  if (list.length === 0) return 0;
  // The active trace (this task's, or the request's) continues in the new tasks (@prospectflow/telemetry).
  const active = traceCarrier();
  const rows = list.map((t) => ({
    type: t.type,
    run_at: t.runAt ?? null,
    enrollment_id: t.enrollmentId ?? null,
    step_id: t.stepId ?? null,
    priority: t.priority,
    dedupe_key: t.dedupeKey,
    payload: t.payload ?? {},
    max_attempts: t.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    trace_context: t.traceContext === undefined ? active : t.traceContext,
  }));
  const result = await client.query(ENQUEUE_SQL, [JSON.stringify(rows)]);
  return result.rowCount ?? 0;
}

/**
 * Cancels the queued (not running) tasks of enrollments that stopped. Returns how many.
 * `keepStepsThatGoOn`: sends of steps with exit_on_reply = false stay (a reply does not stop them).
 */
export async function cancelPendingTasks(
  client: Queryable,
  enrollmentIds: readonly string[],
  options: { keepStepsThatGoOn?: boolean } = {},
): Promise<number> {
  if (enrollmentIds.length === 0) return 0;
  const result = await client.query(
    `UPDATE outreach.tasks AS t SET status = 'cancelled', completed_at = now()
     WHERE t.enrollment_id = ANY ($1::uuid[]) AND t.status = 'pending'
       AND NOT ($2::boolean AND t.type = 'send_step' AND EXISTS (
         SELECT 1 FROM outreach.workflow_steps s
         WHERE s.organisation_id = t.organisation_id AND s.id = t.step_id AND NOT s.exit_on_reply))`,
    [enrollmentIds, options.keepStepsThatGoOn ?? false],
  );
  return result.rowCount ?? 0;
}

/** Sets the enrollments' next_run_at to their earliest pending task (null when none is left). */
export async function resumeAtPendingTasks(
  client: Queryable,
  enrollmentIds: readonly string[],
): Promise<void> {
  if (enrollmentIds.length === 0) return;
  await client.query(
    `UPDATE outreach.campaign_enrollments AS e SET next_run_at = (
       SELECT min(t.run_at) FROM outreach.tasks t
       WHERE t.organisation_id = e.organisation_id AND t.enrollment_id = e.id AND t.status = 'pending')
     WHERE e.id = ANY ($1::uuid[])`,
    [enrollmentIds],
  );
}
