import { enqueue, TASKS } from '@prospectflow/outreach-core';
import { PermanentError } from '../queue/errors.js';
import { inTenant } from '../queue/sql.js';
import type { TaskHandler } from '../queue/types.js';
import { followUpAt, nextWindowStart } from './schedule.js';
import { type MailboxRow, windowOf } from './window.js';

/**
 * Activation (and re-activation after a pause) enqueues one of these per enrollment: it schedules
 * the enrollment's next step inside the mailbox window — step 1 at the next open moment, a later
 * step at previous send + delay_days. A replied enrollment goes on only with a next step that does
 * not exit on reply (as decide.ts and app.record_sent let it): a pause cancelled that step's send.
 */
export const scheduleEnrollment: TaskHandler = async (ctx) => {
  const { task, pool, clock } = ctx;
  const enrollmentId = task.enrollment_id ?? (task.payload.enrollment_id as string | undefined);
  if (!enrollmentId) throw new PermanentError('schedule_enrollment needs an enrollment id');
  await inTenant(pool, task.organisation_id, async (client) => {
    const { rows } = await client.query(
      `SELECT e.id, e.status, e.current_step_order, e.last_sent_at, e.campaign_id, c.status AS campaign_status, c.mailbox_id
       FROM outreach.campaign_enrollments e JOIN outreach.campaigns c ON c.organisation_id = e.organisation_id AND c.id = e.campaign_id
       WHERE e.id = $1 FOR UPDATE OF e`,
      [enrollmentId],
    );
    const enrollment = rows[0];
    const replied = enrollment?.status === 'replied';
    if ((enrollment?.status !== 'active' && !replied) || enrollment.campaign_status !== 'active') {
      return await ctx.complete(client, 'nothing to schedule');
    }
    if (!enrollment.mailbox_id) throw new PermanentError('campaign has no mailbox');
    const now = clock.now();
    const next = await client.query<{
      id: string;
      step_order: number;
      delay_days: number;
      exit_on_reply: boolean;
    }>(
      `SELECT id, step_order, delay_days, exit_on_reply FROM outreach.workflow_steps
       WHERE campaign_id = $1 AND step_order > $2 ORDER BY step_order LIMIT 1`,
      [enrollment.campaign_id, enrollment.current_step_order],
    );
    const step = next.rows[0];
    if (replied && (!step || step.exit_on_reply))
      return await ctx.complete(client, 'replied: sequence ended');
    if (!step) {
      await client.query(
        `UPDATE outreach.campaign_enrollments SET status = 'completed', completed_at = $2, next_run_at = NULL WHERE id = $1`,
        [enrollmentId, now],
      );
      return await ctx.complete(client, 'sequence complete');
    }
    const mailbox = (
      await client.query<MailboxRow>('SELECT * FROM outreach.mailboxes WHERE id = $1', [
        enrollment.mailbox_id,
      ])
    ).rows[0];
    if (!mailbox) throw new PermanentError('mailbox not found');
    const window = windowOf(mailbox);
    let runAt = enrollment.last_sent_at
      ? followUpAt(enrollment.last_sent_at, step.delay_days, window)
      : nextWindowStart(now, window);
    if (runAt < now) runAt = nextWindowStart(now, window);
    await enqueue(client, TASKS.sendStep(enrollmentId, step, runAt));
    await client.query('UPDATE outreach.campaign_enrollments SET next_run_at = $2 WHERE id = $1', [
      enrollmentId,
      runAt,
    ]);
    await ctx.complete(client);
  });
};
