import type { TenantClient } from '@prospectflow/tenant-context';
import { PermanentError, ReleasedError, RetryableError, SnoozeError } from '../queue/errors.js';
import { inTenant } from '../queue/sql.js';
import type { TaskContext, TaskHandler } from '../queue/types.js';
import { enqueueTask, PRIORITY, sendStepKey } from './enqueue.js';
import { classifySmtpError, type Mailer, type OutgoingMail, type SmtpFailure } from './mailer.js';
import { followUpAt, localDayBounds, nextDayWindowStart, nextWindowStart } from './schedule.js';
import { bumpDailyStat } from './stats.js';
import { render, TemplateError, type TemplateValues } from './template.js';
import { messageIdFor, randomToken } from './tokens.js';
import { pickVariant } from './variant.js';
import { type MailboxRow, windowOf } from './window.js';

export interface SendStepDeps {
  mailer: Mailer;
  /** Base of tracking and unsubscribe links, e.g. https://app.example.com */
  publicBaseUrl: string;
  /** HMAC key of A/B assignment. */
  variantSeed: string;
  /** How long a task waits when its mailbox is paused. */
  pausedMailboxSnoozeMs?: number;
}

interface MessageRow {
  id: string;
  status: string;
  variant_id: string | null;
  to_address: string;
  subject: string;
  body_text: string;
  body_html: string | null;
  message_id_header: string;
  unsubscribe_token: string;
  in_reply_to: string | null;
  references_headers: string[] | null;
}

interface Reserved {
  kind: 'send';
  messageRowId: string;
  campaignId: string;
  variantId: string | null;
  stepOrder: number;
  mailbox: MailboxRow;
  mail: OutgoingMail;
}
type Prepared = Reserved | { kind: 'done' } | { kind: 'fail'; reason: string };

const TERMINAL_ENROLLMENT: Record<string, string> = {
  hard_bounce: 'bounced',
  complaint: 'unsubscribed',
  unsubscribed: 'unsubscribed',
  manual: 'unsubscribed',
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function unsubscribeHeaders(base: string, token: string, fromAddress: string): Record<string, string> {
  const domain = fromAddress.split('@')[1];
  return {
    // RFC 2369 + RFC 8058: mailto for old clients, https for one-click POST.
    'List-Unsubscribe': `<mailto:unsubscribe@${domain}?subject=unsubscribe%20${token}>, <${base}/u/${token}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}

/** The send_step handler: checks, reservation, SMTP, outcome. */
export function sendStep(deps: SendStepDeps): TaskHandler {
  const base = deps.publicBaseUrl.replace(/\/+$/, '');
  return async (ctx) => {
    const { task, pool, clock, signal } = ctx;
    if (!task.enrollment_id || !task.step_id)
      throw new PermanentError('send_step needs enrollment_id and step_id');
    const prepared = await inTenant(pool, task.organisation_id, (client) => prepare(ctx, client, deps, base));
    if (prepared.kind === 'done') return;
    if (prepared.kind === 'fail') throw new PermanentError(prepared.reason);
    // Last safe point: after this the mail may be out, so shutdown waits for the outcome.
    if (signal.aborted) throw new ReleasedError('shutdown before sending');
    let failure: SmtpFailure | undefined;
    let response = '';
    try {
      response = (await deps.mailer.send(prepared.mail)).response;
    } catch (error) {
      failure = classifySmtpError(error);
    }
    const now = clock.now();
    if (!failure) {
      await inTenant(pool, task.organisation_id, (client) =>
        recordSent(ctx, client, prepared, response, now),
      );
      return;
    }
    if (failure.kind === 'bounce') {
      await inTenant(pool, task.organisation_id, (client) =>
        recordBounce(ctx, client, prepared, failure.detail, now),
      );
      return;
    }
    if (failure.kind === 'auth') {
      await inTenant(pool, task.organisation_id, (client) =>
        client.query(`UPDATE outreach.mailboxes SET status = 'paused', paused_reason = $2 WHERE id = $1`, [
          prepared.mailbox.id,
          `SMTP authentication failed: ${failure.detail}`.slice(0, 500),
        ]),
      );
      ctx.log.error(
        { mailboxId: prepared.mailbox.id, detail: failure.detail },
        'SMTP authentication failed: mailbox paused',
      );
      throw new SnoozeError(
        new Date(now.getTime() + (deps.pausedMailboxSnoozeMs ?? 600_000)),
        'mailbox paused (SMTP authentication failed)',
      );
    }
    if (task.attempts >= task.max_attempts) {
      await inTenant(pool, task.organisation_id, async (client) => {
        await client.query(
          `UPDATE outreach.messages SET status = 'failed', error = $2 WHERE id = $1 AND status = 'queued'`,
          [prepared.messageRowId, failure.detail],
        );
        await client.query(
          `UPDATE outreach.campaign_enrollments SET status = 'paused', next_run_at = NULL WHERE id = $1 AND status = 'active'`,
          [task.enrollment_id],
        );
      });
      throw new PermanentError(`SMTP kept failing after ${task.attempts} attempts: ${failure.detail}`);
    }
    throw new RetryableError(`SMTP deferred: ${failure.detail}`);
  };
}

async function prepare(
  ctx: TaskContext,
  client: TenantClient,
  deps: SendStepDeps,
  base: string,
): Promise<Prepared> {
  const { task, clock } = ctx;
  const enrollmentId = task.enrollment_id!;
  const stepId = task.step_id!;
  const now = clock.now();
  // The enrollment row lock serialises this with inbound replies/unsubscribes for the same enrollment.
  const enrollment = (
    await client.query(
      `SELECT e.id, e.status, e.position_id, e.campaign_id, c.status AS campaign_status, c.mailbox_id, c.tracking_enabled
       FROM outreach.campaign_enrollments e JOIN outreach.campaigns c ON c.organisation_id = e.organisation_id AND c.id = e.campaign_id
       WHERE e.id = $1 FOR UPDATE OF e`,
      [enrollmentId],
    )
  ).rows[0];
  const done = async (note: string): Promise<Prepared> => {
    await ctx.complete(client, note);
    return { kind: 'done' };
  };
  if (!enrollment) return await done('enrollment no longer exists');
  const step = (await client.query('SELECT * FROM outreach.workflow_steps WHERE id = $1', [stepId])).rows[0];
  if (!step) return await done('step no longer exists');
  const existing = (
    await client.query<MessageRow>(
      `SELECT * FROM outreach.messages WHERE enrollment_id = $1 AND step_id = $2 AND direction = 'outbound'`,
      [enrollmentId, stepId],
    )
  ).rows[0];
  if (existing && existing.status !== 'queued') return await done(`message already ${existing.status}`);

  const replied = (
    await client.query(
      `SELECT 1 FROM outreach.messages WHERE enrollment_id = $1 AND direction = 'inbound' AND inbound_kind = 'reply' LIMIT 1`,
      [enrollmentId],
    )
  ).rowCount;
  const stopForReply = step.exit_on_reply && (replied || enrollment.status === 'replied');
  if (
    stopForReply ||
    (enrollment.status !== 'active' && !(enrollment.status === 'replied' && !step.exit_on_reply))
  ) {
    if (stopForReply && enrollment.status === 'active') {
      await client.query(
        `UPDATE outreach.campaign_enrollments SET status = 'replied', next_run_at = NULL WHERE id = $1`,
        [enrollmentId],
      );
    }
    if (existing) {
      await client.query(
        `UPDATE outreach.messages SET status = 'failed', error = 'not sent: enrollment stopped' WHERE id = $1`,
        [existing.id],
      );
    }
    return await done(`enrollment ${stopForReply ? 'replied' : enrollment.status}: not sent`);
  }
  // Re-activation enqueues a fresh schedule task for this enrollment.
  if (enrollment.campaign_status !== 'active')
    return await done(`campaign ${enrollment.campaign_status}: not sent`);
  if (!enrollment.mailbox_id) return { kind: 'fail', reason: 'campaign has no mailbox' };

  // Locking the mailbox row serialises the daily-cap count across slots and workers.
  const mailbox = (
    await client.query<MailboxRow>('SELECT * FROM outreach.mailboxes WHERE id = $1 FOR UPDATE', [
      enrollment.mailbox_id,
    ])
  ).rows[0];
  if (!mailbox) return { kind: 'fail', reason: 'mailbox not found' };
  if (mailbox.status !== 'active') {
    throw new SnoozeError(
      new Date(now.getTime() + (deps.pausedMailboxSnoozeMs ?? 600_000)),
      `mailbox ${mailbox.status}`,
    );
  }
  const window = windowOf(mailbox);
  const opens = nextWindowStart(now, window);
  if (opens.getTime() > now.getTime()) throw new SnoozeError(opens, 'outside the sending window');

  const target = (
    await client.query(
      `SELECT p.email, p.title, pe.first_name, pe.last_name, co.name AS company_name, co.domain, co.city, co.industry, co.website_url
       FROM crm.positions p
       JOIN crm.people pe ON pe.organisation_id = p.organisation_id AND pe.id = p.person_id
       JOIN crm.companies co ON co.organisation_id = p.organisation_id AND co.id = p.company_id
       WHERE p.id = $1`,
      [enrollment.position_id],
    )
  ).rows[0];
  if (!target?.email) {
    await client.query(
      `UPDATE outreach.campaign_enrollments SET status = 'paused', next_run_at = NULL WHERE id = $1`,
      [enrollmentId],
    );
    return { kind: 'fail', reason: 'the position has no email address' };
  }
  const suppression = (
    await client.query(`SELECT reason FROM outreach.suppressions WHERE email = $1 OR domain = $2 LIMIT 1`, [
      target.email,
      String(target.email).split('@')[1],
    ])
  ).rows[0];
  if (suppression) {
    await client.query(
      `UPDATE outreach.campaign_enrollments SET status = $2, next_run_at = NULL WHERE id = $1`,
      [enrollmentId, TERMINAL_ENROLLMENT[suppression.reason] ?? 'unsubscribed'],
    );
    if (existing)
      await client.query(
        `UPDATE outreach.messages SET status = 'failed', error = 'not sent: suppressed' WHERE id = $1`,
        [existing.id],
      );
    return await done(`suppressed (${suppression.reason}): not sent`);
  }

  const reservedFrom = (row: MessageRow, variantId: string | null): Reserved => ({
    kind: 'send',
    messageRowId: row.id,
    campaignId: enrollment.campaign_id,
    variantId,
    stepOrder: step.step_order,
    mailbox,
    mail: {
      from: { name: mailbox.from_name, address: mailbox.from_address },
      to: row.to_address,
      subject: row.subject,
      text: row.body_text,
      html: row.body_html ?? undefined,
      messageId: row.message_id_header,
      headers: {
        ...unsubscribeHeaders(base, row.unsubscribe_token, mailbox.from_address),
        ...(row.in_reply_to
          ? { 'In-Reply-To': row.in_reply_to, References: (row.references_headers ?? []).join(' ') }
          : {}),
      },
    },
  });
  // A reservation from an earlier attempt: resend it as it was (same Message-ID); the cap already counts it.
  if (existing) return reservedFrom(existing, existing.variant_id);

  const variant = await chooseVariant(client, deps.variantSeed, step.id, enrollmentId);
  const subjectTemplate: string | null = variant?.subject_template ?? step.subject_template;
  const bodyTemplate: string | null = variant?.body_template ?? step.body_template;
  if (!bodyTemplate) return { kind: 'fail', reason: 'step has no body template' };
  let previous: Pick<MessageRow, 'subject' | 'message_id_header' | 'references_headers'> | undefined;
  if (!subjectTemplate) {
    // No subject: a follow-up in the same thread as the previous step's message.
    previous = (
      await client.query<MessageRow>(
        `SELECT m.subject, m.message_id_header, m.references_headers FROM outreach.messages m
         JOIN outreach.workflow_steps s ON s.organisation_id = m.organisation_id AND s.id = m.step_id
         WHERE m.enrollment_id = $1 AND m.direction = 'outbound' AND m.status = 'sent' AND s.step_order < $2
         ORDER BY s.step_order DESC LIMIT 1`,
        [enrollmentId, step.step_order],
      )
    ).rows[0];
    if (!previous) {
      await client.query(
        `UPDATE outreach.campaign_enrollments SET status = 'paused', next_run_at = NULL WHERE id = $1`,
        [enrollmentId],
      );
      return { kind: 'fail', reason: 'step has no subject template and no earlier message to reply to' };
    }
  }
  const values: TemplateValues = {
    'person.first_name': target.first_name,
    'person.last_name': target.last_name,
    'person.full_name': [target.first_name, target.last_name].filter(Boolean).join(' '),
    'company.name': target.company_name,
    'company.domain': target.domain,
    'company.city': target.city,
    'company.industry': target.industry,
    'company.website_url': target.website_url,
    'position.title': target.title,
    'position.email': target.email,
    'sender.name': mailbox.from_name,
    'sender.email': mailbox.from_address,
  };
  let subject: string;
  let text: string;
  try {
    subject = subjectTemplate
      ? render(subjectTemplate, values)
      : `Re: ${String(previous!.subject).replace(/^Re:\s*/i, '')}`;
    text = render(bodyTemplate, values);
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    await client.query(
      `UPDATE outreach.campaign_enrollments SET status = 'paused', next_run_at = NULL WHERE id = $1`,
      [enrollmentId],
    );
    return { kind: 'fail', reason: `template of step ${step.step_order}: ${error.message}` };
  }

  // Cap check and reservation under the mailbox row lock: it serialises the count across slots
  // and workers, and is taken as late as possible so it is held only for these few statements.
  // NO KEY UPDATE: serialises cap checkers without blocking FK checks (messages → mailboxes).
  await client.query('SELECT 1 FROM outreach.mailboxes WHERE id = $1 FOR NO KEY UPDATE', [mailbox.id]);
  const { start, end } = localDayBounds(now, mailbox.time_zone);
  const usage = (
    await client.query<{ n: number; last: Date | null }>(
      `SELECT count(*) FILTER (WHERE created_at >= $2 AND created_at < $3)::int AS n, max(created_at) AS last
       FROM outreach.messages WHERE mailbox_id = $1 AND direction = 'outbound' AND status IN ('queued', 'sent', 'bounced')`,
      [mailbox.id, start, end],
    )
  ).rows[0]!;
  if (usage.n >= mailbox.daily_limit)
    throw new SnoozeError(nextDayWindowStart(now, window), `daily cap of ${mailbox.daily_limit} reached`);
  if (mailbox.min_gap_seconds > 0 && usage.last) {
    const earliest = new Date(new Date(usage.last).getTime() + mailbox.min_gap_seconds * 1000);
    if (earliest > now) throw new SnoozeError(nextWindowStart(earliest, window), 'minimum gap between sends');
  }

  const unsubscribeToken = randomToken();
  const messageIdHeader = messageIdFor(task.organisation_id, enrollmentId, stepId, mailbox.from_address);
  const pixelToken = enrollment.tracking_enabled ? randomToken() : null;
  let html = `<div>${escapeHtml(text).replace(/\r?\n/g, '<br>\n')}</div>`;
  if (pixelToken)
    html += `\n<img src="${base}/t/${pixelToken}.gif" width="1" height="1" alt="" style="display:none">`;
  const references = previous ? [...(previous.references_headers ?? []), previous.message_id_header] : [];
  const row = (
    await client.query<MessageRow>(
      `INSERT INTO outreach.messages (enrollment_id, step_id, variant_id, mailbox_id, direction, status, message_id_header,
         in_reply_to, references_headers, from_address, to_address, subject, body_text, body_html, unsubscribe_token, created_at)
       VALUES ($1, $2, $3, $4, 'outbound', 'queued', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *`,
      [
        enrollmentId,
        stepId,
        variant?.id ?? null,
        mailbox.id,
        messageIdHeader,
        previous?.message_id_header ?? null,
        references,
        mailbox.from_address,
        target.email,
        subject,
        text,
        html,
        unsubscribeToken,
        now,
      ],
    )
  ).rows[0]!;
  if (pixelToken)
    await client.query('INSERT INTO tracking.pixels (message_id, token) VALUES ($1, $2)', [
      row.id,
      pixelToken,
    ]);
  return reservedFrom(row, variant?.id ?? null);
}

interface VariantRow {
  id: string;
  label: string;
  weight: number;
  subject_template: string | null;
  body_template: string;
}

/** The enrollment's variant for this step: stored assignment, else the chosen winner, else a stable weighted pick (stored). */
async function chooseVariant(
  client: TenantClient,
  seed: string,
  stepId: string,
  enrollmentId: string,
): Promise<VariantRow | undefined> {
  const experiment = (
    await client.query(
      'SELECT id, status, winner_variant_id FROM outreach.step_experiments WHERE step_id = $1',
      [stepId],
    )
  ).rows[0];
  if (!experiment) return undefined;
  const assigned = (
    await client.query<VariantRow>(
      `SELECT v.* FROM outreach.enrollment_step_variant_assignments a
       JOIN outreach.step_experiment_variants v ON v.organisation_id = a.organisation_id AND v.id = a.variant_id
       WHERE a.enrollment_id = $1 AND a.step_id = $2`,
      [enrollmentId, stepId],
    )
  ).rows[0];
  if (assigned) return assigned;
  const variants = (
    await client.query<VariantRow>(
      'SELECT * FROM outreach.step_experiment_variants WHERE experiment_id = $1',
      [experiment.id],
    )
  ).rows;
  if (variants.length === 0) return undefined;
  const chosen =
    experiment.status === 'winner_chosen' && experiment.winner_variant_id
      ? variants.find((v) => v.id === experiment.winner_variant_id)!
      : pickVariant(seed, experiment.id, enrollmentId, variants);
  await client.query(
    `INSERT INTO outreach.enrollment_step_variant_assignments (enrollment_id, step_id, variant_id) VALUES ($1, $2, $3)
     ON CONFLICT (organisation_id, enrollment_id, step_id) DO NOTHING`,
    [enrollmentId, stepId, chosen.id],
  );
  return chosen;
}

async function recordSent(
  ctx: TaskContext,
  client: TenantClient,
  sent: Reserved,
  response: string,
  now: Date,
): Promise<void> {
  const { task } = ctx;
  await ctx.complete(client);
  await client.query(
    `UPDATE outreach.messages SET status = 'sent', sent_at = $2, smtp_response = $3 WHERE id = $1`,
    [sent.messageRowId, now, response.slice(0, 500)],
  );
  await bumpDailyStat(client, sent.campaignId, sent.variantId, 'sent', now);
  const enrollment = (
    await client.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1 FOR UPDATE', [
      task.enrollment_id,
    ])
  ).rows[0];
  await client.query(
    'UPDATE outreach.campaign_enrollments SET current_step_order = greatest(current_step_order, $2), last_sent_at = $3 WHERE id = $1',
    [task.enrollment_id, sent.stepOrder, now],
  );
  // A reply or unsubscribe that landed while SMTP was busy stopped the sequence: schedule nothing.
  if (enrollment?.status !== 'active') return;
  const next = (
    await client.query(
      `SELECT id, step_order, delay_days FROM outreach.workflow_steps
       WHERE campaign_id = $1 AND step_order > $2 ORDER BY step_order LIMIT 1`,
      [sent.campaignId, sent.stepOrder],
    )
  ).rows[0];
  if (!next) {
    await client.query(
      `UPDATE outreach.campaign_enrollments SET status = 'completed', completed_at = $2, next_run_at = NULL WHERE id = $1`,
      [task.enrollment_id, now],
    );
    return;
  }
  const runAt = followUpAt(now, next.delay_days, windowOf(sent.mailbox));
  await enqueueTask(client, {
    type: 'send_step',
    runAt,
    enrollmentId: task.enrollment_id,
    stepId: next.id,
    priority: PRIORITY.followUp,
    dedupeKey: sendStepKey(task.enrollment_id!, next.id),
  });
  await client.query('UPDATE outreach.campaign_enrollments SET next_run_at = $2 WHERE id = $1', [
    task.enrollment_id,
    runAt,
  ]);
}

async function recordBounce(
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
  await client.query(
    `INSERT INTO outreach.suppressions (email, reason, source_message_id) VALUES ($1, 'hard_bounce', $2)
     ON CONFLICT (organisation_id, email) DO NOTHING`,
    [sent.mail.to, sent.messageRowId],
  );
  await client.query(
    `UPDATE outreach.campaign_enrollments SET status = 'bounced', next_run_at = NULL WHERE id = $1 AND status IN ('active', 'replied')`,
    [ctx.task.enrollment_id],
  );
  await bumpDailyStat(client, sent.campaignId, sent.variantId, 'bounced', now);
  ctx.log.warn({ to: sent.mail.to, detail }, 'hard bounce: recipient suppressed');
}
