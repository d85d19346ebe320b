import { PRIORITY, stopEnrollment, TASKS } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import { inTenant } from '../../queue/sql.js';
import type { TaskContext } from '../../queue/types.js';
import { followUpAt } from '../schedule.js';
import { windowOf } from '../window.js';
import { ALL, batchers } from './batchers.js';
import type { Reserved } from './prepare.js';

/** What happens after SMTP answered: sent, hard bounce, mailbox in error, or retries spent. */

export async function recordSent(
  ctx: TaskContext,
  sent: Reserved,
  response: string,
  now: Date,
): Promise<void> {
  const { task } = ctx;
  const next = sent.nextStep;
  const runAt = next ? followUpAt(now, next.delay_days, windowOf(sent.mailbox)) : null;
  // record_sent enqueues the next step in SQL: with the task the one definition gives.
  const follow = next && runAt ? TASKS.sendStep(task.enrollment_id!, next, runAt) : null;
  // One statement, one round trip, its own implicit transaction, shared with the other sends (of
  // any organisation) recorded meanwhile. record_sent writes nothing when the lease is lost (0).
  const completed = await batchers(ctx.pool).record.call(ALL, {
    organisation: task.organisation_id,
    task: task.id,
    worker: ctx.workerId,
    now,
    message: sent.messageRowId,
    response: response.slice(0, 500),
    campaign: sent.campaignId,
    variant: sent.variantId,
    enrollment: task.enrollment_id!,
    step_order: sent.stepOrder,
    next_step: next?.id ?? null,
    run_at: runAt,
    priority: follow?.priority ?? PRIORITY.followUp, // unused without a next step
    dedupe_key: follow?.dedupeKey ?? null,
  });
  ctx.completedInTransaction(completed === 1);
}

/** Art. 14: the first message that carried the notice is when the person was informed. */
export async function markNotified(ctx: TaskContext, positionId: string, now: Date): Promise<void> {
  await inTenant(ctx.pool, ctx.task.organisation_id, (client) =>
    client.query(
      'UPDATE crm.positions SET art14_notified_at = $2 WHERE id = $1 AND art14_notified_at IS NULL',
      [positionId, now],
    ),
  );
}

export async function recordBounce(
  ctx: TaskContext,
  client: TenantClient,
  sent: Reserved,
  detail: string,
  now: Date,
): Promise<void> {
  await ctx.complete(client, `hard bounce: ${detail}`.slice(0, 1000));
  await client.query(
    `UPDATE outreach.messages SET status = 'bounced', error = $2, smtp_response = $2, sent_at = $3 WHERE id = $1`,
    [sent.messageRowId, detail.slice(0, 1000), now],
  );
  await stopEnrollment(client, {
    organisationId: ctx.task.organisation_id,
    enrollmentId: ctx.task.enrollment_id!,
    email: sent.mail.to,
    reason: 'bounce',
    messageId: sent.messageRowId,
    at: now,
  });
  // Ids, never the address (personal data; the logger masks any address the answer repeats).
  ctx.log.warn(
    {
      messageRowId: sent.messageRowId,
      enrollmentId: ctx.task.enrollment_id,
      detail,
    },
    'hard bounce: recipient suppressed',
  );
}

/**
 * The mailbox cannot send as it is: the provider refused us (5xx at AUTH or the greeting, a revoked
 * token — `smtp:auth`), or its stored credentials do not open (`secrets:secrets_unreadable`, the
 * code verification gives them too). The mailbox goes to `error` and every send from it waits,
 * until new credentials pass verification (which sets it back to active).
 */
export async function mailboxRefused(
  ctx: TaskContext,
  mailboxId: string,
  code: 'smtp:auth' | 'secrets:secrets_unreadable',
  reason: string,
): Promise<void> {
  await inTenant(ctx.pool, ctx.task.organisation_id, (client) =>
    client.query(
      `UPDATE outreach.mailboxes SET status = 'error', paused_reason = $2, last_error_code = $3
       WHERE id = $1 AND status IN ('active', 'error')`,
      [mailboxId, reason.slice(0, 500), code],
    ),
  );
  ctx.log.error({ mailboxId, code, reason }, 'mailbox in error, its sends wait');
}

/** The last attempt failed too: the message fails and the enrollment waits for a person. */
export async function giveUp(ctx: TaskContext, messageRowId: string, detail: string): Promise<void> {
  await inTenant(ctx.pool, ctx.task.organisation_id, async (client) => {
    await client.query(
      `UPDATE outreach.messages SET status = 'failed', error = $2 WHERE id = $1 AND status = 'queued'`,
      [messageRowId, detail],
    );
    await client.query(
      `UPDATE outreach.campaign_enrollments SET status = 'paused', next_run_at = NULL WHERE id = $1 AND status = 'active'`,
      [ctx.task.enrollment_id],
    );
  });
}
