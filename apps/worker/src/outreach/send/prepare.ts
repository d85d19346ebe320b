import type { EnrollmentStatus } from '@prospectflow/contracts';
import { type SubjectKeys, stopEnrollment } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import { SnoozeError } from '../../queue/errors.js';
import type { TaskContext } from '../../queue/types.js';
import type { OutgoingMail } from '../mailer.js';
import { isSuppressedSubject, privacyValues } from '../privacy.js';
import { localDayBounds } from '../schedule.js';
import { messageIdFor, randomToken } from '../tokens.js';
import { type MailboxRow, windowOf } from '../window.js';
import { ALL, batchers } from './batchers.js';
import { chooseVariant, htmlBody, mailOf, referencesOf, renderContent, templateValues } from './compose.js';
import { type Decision, decide, type SendFacts } from './decide.js';
import { readState } from './read-ahead.js';
import {
  type MessageRow,
  type NextStep,
  RESERVE_OUTBOUND_MESSAGE,
  type ReserveArgs,
  type ReserveResult,
  SEND_STEP_STATE,
  type SendStateRow,
} from './statements.js';

/**
 * Read → decide → compose → reserve. Reads the facts (app.send_step_state), asks decide.ts, carries
 * out what it decided, and reserves the composed message (app.reserve_outbound_message).
 */

export interface PrepareDeps {
  /** Base of tracking and unsubscribe links, without trailing slash. */
  base: string;
  variantSeed: string;
  pausedMailboxSnoozeMs: number;
  subjectKeys?: SubjectKeys;
}

/** A reserved message, ready for SMTP. */
export interface Reserved {
  kind: 'send';
  messageRowId: string;
  campaignId: string;
  variantId: string | null;
  stepOrder: number;
  mailbox: MailboxRow;
  /** The step after this one, read with the rest (null: this is the last). */
  nextStep: NextStep | null;
  mail: OutgoingMail;
  /** The message carries the Art. 14 notice: the position is marked notified once it is sent. */
  noticeForPosition?: string;
  /** Reserved by an earlier attempt, which may have reached SMTP: look in the Sent folder first. */
  resend?: boolean;
}
export type Prepared = Reserved | { kind: 'done' } | { kind: 'fail'; reason: string };

/** A decision the fast path cannot carry out (a write, a resend) or cannot trust: read again in a transaction. */
export class StaleRead extends Error {}

/** The facts decide() needs, from the read. */
export function factsOf(state: SendStateRow | undefined): SendFacts {
  return {
    enrollment: state?.status ?? null,
    step: state?.step ? { exitOnReply: state.step.exit_on_reply } : null,
    existing: state?.existing?.status ?? null,
    replied: state?.replied ?? false,
    campaign: state?.campaign_status ?? null,
    hasMailbox: !!state?.mailbox_id,
    mailbox: state?.mailbox
      ? {
          status: state.mailbox.status,
          verified: state.mailbox.verification_status === 'verified',
          window: windowOf(state.mailbox),
          minGapSeconds: state.mailbox.min_gap_seconds,
        }
      : null,
    hasEmail: !!state?.target?.email,
    suppression: state?.suppression ?? null,
  };
}

/** The facts as the reservation saw them under its locks, with the mailbox's usage of the day. */
export function factsAfterReservation(facts: SendFacts, reserved: ReserveResult): SendFacts {
  return {
    ...facts,
    enrollment: reserved.enrollment_status,
    campaign: reserved.campaign_status,
    replied: facts.replied || reserved.replied,
    mailbox: facts.mailbox && { ...facts.mailbox, status: reserved.mailbox_status },
    suppression: reserved.suppression,
    usage: {
      sentToday: reserved.n,
      dailyLimit: reserved.daily_limit,
      lastSentAt: reserved.last ? new Date(reserved.last) : null,
    },
  };
}

/**
 * `client`: inside a tenant transaction that holds the enrollment lock from the read on. Without
 * one (fast path) each statement is its own implicit transaction, and whatever needs a write or
 * a decision the reservation cannot re-check throws StaleRead, to run again in a transaction.
 * `fresh`: the last try; a reservation refused for a changed fact is carried out, not retried.
 */
export async function prepare(
  ctx: TaskContext,
  client: TenantClient | undefined,
  deps: PrepareDeps,
  fresh: boolean,
): Promise<Prepared> {
  const { task, clock } = ctx;
  const enrollment = task.enrollment_id!;
  const step = task.step_id!;
  const now = clock.now();
  const state = client
    ? (
        await client.query<SendStateRow>(
          SEND_STEP_STATE.sql,
          SEND_STEP_STATE.values({ enrollment, step, lock: true }),
        )
      ).rows[0]
    : await readState(task, ctx.pool, { enrollment, step });
  let facts = factsOf(state);
  let decision = decide(facts, now, deps);
  // The hashed suppression list (erased and objecting people) is looked at only for a send.
  const email = state?.target?.email;
  if ((decision.kind === 'send' || decision.kind === 'resend') && deps.subjectKeys && email) {
    if (await isSuppressedSubject(ctx.pool, task.organisation_id, deps.subjectKeys, email)) {
      facts = { ...facts, suppression: 'erased_or_objected' };
      decision = decide(facts, now, deps);
    }
  }
  if (decision.kind !== 'send' && decision.kind !== 'resend')
    return await carryOut(ctx, client, decision, state?.existing?.id);
  // Past decide(), the state has a step, a mailbox and a recipient address.
  const s = state!;
  const mailbox = s.mailbox!;
  const target = s.target!;
  const reservedFrom = (row: MessageRow, variantId: string | null): Reserved => ({
    kind: 'send',
    messageRowId: row.id,
    campaignId: s.campaign_id,
    variantId,
    stepOrder: s.step!.step_order,
    mailbox,
    nextStep: s.next_step,
    mail: mailOf(row, mailbox, deps.base),
  });
  if (decision.kind === 'resend') {
    const c = inTransaction(client, 'resend of an earlier reservation');
    const usage = await resendUsage(c, s.existing!.id, mailbox, now);
    // Same facts plus the usage: the only new answer can be a cap or gap snooze.
    const again = decide({ ...facts, usage }, now, deps);
    if (again.kind === 'snooze') return await carryOut(ctx, c, again);
    return { ...reservedFrom(s.existing!, s.existing!.variant_id), resend: true };
  }

  const { variant, store } = chooseVariant(s.experiment, deps.variantSeed, enrollment);
  const subjectTemplate = variant?.subject_template ?? s.step!.subject_template;
  const bodyTemplate = variant?.body_template ?? s.step!.body_template;
  const privacy = bodyTemplate
    ? await privacyValues(ctx.pool, client, task.organisation_id, s.position_id, [
        subjectTemplate,
        bodyTemplate,
      ])
    : { values: {}, carriesNotice: false };
  const content = renderContent({
    subjectTemplate,
    bodyTemplate,
    previous: s.previous,
    stepOrder: s.step!.step_order,
    values: { ...templateValues(target, mailbox), ...privacy.values },
  });
  if (!content.ok)
    return await carryOut(ctx, client, {
      kind: 'fail',
      reason: content.reason,
      pauseEnrollment: content.pauseEnrollment,
    });

  const pixelToken = s.tracking_enabled ? randomToken() : null;
  const { start, end } = localDayBounds(now, mailbox.time_zone);
  const args: ReserveArgs = {
    enrollment,
    step,
    variant: variant?.id ?? null,
    mailbox: mailbox.id,
    message_id_header: messageIdFor(task.organisation_id, enrollment, step, mailbox.from_address),
    in_reply_to: content.previous?.message_id_header ?? null,
    references: referencesOf(content.previous),
    from: mailbox.from_address,
    to: target.email!,
    subject: content.subject,
    body_text: content.text,
    body_html: htmlBody(content.text, deps.base, pixelToken),
    unsubscribe_token: randomToken(),
    now,
    pixel_token: pixelToken,
    day_start: start,
    day_end: end,
    exit_on_reply: s.step!.exit_on_reply,
    store_assignment: store,
  };
  const reserved = client
    ? (await client.query<ReserveResult>(RESERVE_OUTBOUND_MESSAGE.sql, RESERVE_OUTBOUND_MESSAGE.values(args)))
        .rows[0]!
    : await batchers(ctx.pool).reserve.call(ALL, { ...args, organisation: task.organisation_id });
  if (!reserved.message_row_id) {
    const again = decide(factsAfterReservation(facts, reserved), now, deps);
    // Everything passes, yet nothing was reserved: an attempt this read did not see reserved it.
    if (again.kind === 'send' || again.kind === 'resend')
      throw new StaleRead('the message was reserved concurrently');
    // Cap and gap are counted only by the reservation: carried out as they are.
    if (again.kind === 'snooze' && (again.cause === 'cap' || again.cause === 'gap'))
      return await carryOut(ctx, client, again);
    // Changed since the read (or while waiting for the locks): decide again on a fresh read.
    if (!fresh) throw new StaleRead('enrollment, campaign, mailbox, reply or suppression changed');
    return await carryOut(ctx, client, again);
  }
  const sent = reservedFrom(
    {
      id: reserved.message_row_id,
      status: 'queued',
      variant_id: args.variant,
      to_address: args.to,
      subject: args.subject,
      body_text: args.body_text,
      body_html: args.body_html,
      message_id_header: args.message_id_header,
      unsubscribe_token: args.unsubscribe_token,
      in_reply_to: args.in_reply_to,
      references_headers: args.references,
    },
    args.variant,
  );
  return privacy.carriesNotice ? { ...sent, noticeForPosition: s.position_id } : sent;
}

/**
 * A resend's usage, its own reservation left out (it must not hold itself back): the day's count
 * as the reservation keeps it (outreach.mailbox_day_counts, migration 0970) less the message when
 * it was reserved today, and the latest time another message of the mailbox was reserved or sent
 * (a sent resend was handed to SMTP at sent_at, after its reservation). Resends are rare (a 4xx,
 * a crash): this reads the mailbox's messages within the gap instead of a kept row.
 */
async function resendUsage(
  client: TenantClient,
  messageRowId: string,
  mailbox: MailboxRow,
  now: Date,
): Promise<NonNullable<SendFacts['usage']>> {
  const { start, end } = localDayBounds(now, mailbox.time_zone);
  const since = new Date(now.getTime() - mailbox.min_gap_seconds * 1000);
  const { rows } = await client.query<{ sent_today: number; last_other: Date | null }>(
    `SELECT greatest(0, coalesce((SELECT d.reserved FROM outreach.mailbox_day_counts d
              WHERE d.mailbox_id = $2 AND d.day_start = $3 AND d.day_end = $4), 0)
            - (SELECT count(*) FROM outreach.messages o WHERE o.id = $1 AND o.mailbox_id = $2
                 AND o.created_at >= $3 AND o.created_at < $4))::int AS sent_today,
            CASE WHEN $5::timestamptz < $6::timestamptz THEN (
              SELECT max(greatest(m.created_at, m.sent_at)) FROM outreach.messages m
              WHERE m.mailbox_id = $2 AND m.id <> $1 AND m.direction = 'outbound'
                AND m.status IN ('queued', 'sent', 'bounced')
                AND (m.sent_at IS NULL OR m.sent_at > $5) AND greatest(m.created_at, m.sent_at) > $5)
            END AS last_other`,
    [messageRowId, mailbox.id, start, end, since, now],
  );
  const row = rows[0]!;
  return { sentToday: row.sent_today, dailyLimit: mailbox.daily_limit, lastSentAt: row.last_other };
}

function inTransaction(client: TenantClient | undefined, why: string): TenantClient {
  if (!client) throw new StaleRead(`${why}: needs a transaction`);
  return client;
}

/** Carries out a decision other than sending: snooze, fail (pausing the enrollment), or skip. */
async function carryOut(
  ctx: TaskContext,
  client: TenantClient | undefined,
  decision: Exclude<Decision, { kind: 'send' } | { kind: 'resend' }>,
  existingId?: string,
): Promise<Prepared> {
  const enrollment = ctx.task.enrollment_id!;
  const setStatus = (c: TenantClient, status: EnrollmentStatus) =>
    c.query('UPDATE outreach.campaign_enrollments SET status = $2, next_run_at = NULL WHERE id = $1', [
      enrollment,
      status,
    ]);
  switch (decision.kind) {
    case 'snooze':
      throw new SnoozeError(decision.until, decision.reason);
    case 'fail':
      if (decision.pauseEnrollment) await setStatus(inTransaction(client, 'enrollment paused'), 'paused');
      return { kind: 'fail', reason: decision.reason };
    case 'skip': {
      const c = inTransaction(client, decision.note);
      if (decision.stop)
        await stopEnrollment(c, {
          organisationId: ctx.task.organisation_id,
          enrollmentId: enrollment,
          reason: decision.stop.reason,
          suppressedAs: decision.stop.suppressedAs,
          at: ctx.clock.now(),
        });
      if (decision.failExisting && existingId)
        await c.query(`UPDATE outreach.messages SET status = 'failed', error = $2 WHERE id = $1`, [
          existingId,
          decision.failExisting,
        ]);
      await ctx.complete(c, decision.note);
      return { kind: 'done' };
    }
  }
}
