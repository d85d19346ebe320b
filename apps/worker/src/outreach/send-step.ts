import { bumpDailyStat, render, TemplateError, type TemplateValues } from '@prospectflow/outreach-core';
import { runWithTenant, type TenantClient, tenantQuery } from '@prospectflow/tenant-context';
import type { Pool, QueryResultRow } from 'pg';
import { KeyedBatcher } from '../queue/batcher.js';
import { PermanentError, ReleasedError, RetryableError, SnoozeError } from '../queue/errors.js';
import { inTenant } from '../queue/sql.js';
import type { TaskContext, TaskHandler } from '../queue/types.js';
import { PRIORITY, sendStepKey } from './enqueue.js';
import { classifySmtpError, type Mailer, type OutgoingMail, type SmtpFailure } from './mailer.js';
import { followUpAt, localDayBounds, nextDayWindowStart, nextWindowStart } from './schedule.js';
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
  /** The step after this one, read with the rest (null: this is the last). */
  nextStep: NextStep | null;
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
    // Fast path: read, then reserve, each one statement in its own implicit transaction (the
    // reservation locks and re-checks everything itself). Anything else — a write to make, an
    // earlier reservation to resend, a stop condition that changed — falls back to a transaction
    // that holds the enrollment lock from the read on, and then to a fresh one.
    let prepared: Prepared;
    try {
      prepared = await prepare(ctx, undefined, deps, base, false);
    } catch (error) {
      if (!(error instanceof StaleRead)) throw error;
      try {
        prepared = await inTenant(pool, task.organisation_id, (client) =>
          prepare(ctx, client, deps, base, false),
        );
      } catch (error) {
        if (!(error instanceof StaleRead)) throw error;
        prepared = await inTenant(pool, task.organisation_id, (client) =>
          prepare(ctx, client, deps, base, true),
        );
      }
    }
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
      await recordSent(ctx, prepared, response, now);
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

interface NextStep {
  id: string;
  step_order: number;
  delay_days: number;
}

interface VariantRow {
  id: string;
  label: string;
  weight: number;
  subject_template: string | null;
  body_template: string;
}

interface ReserveResult {
  enrollment_status: string | null;
  campaign_status: string | null;
  mailbox_status: string | null;
  daily_limit: number;
  n: number;
  last: Date | null;
  replied: boolean;
  suppression: string | null;
  message_row_id: string | null;
}

/** Everything a send needs, read in one statement (see STATE_SQL). */
interface SendState {
  id: string;
  status: string;
  position_id: string;
  campaign_id: string;
  campaign_status: string;
  mailbox_id: string | null;
  tracking_enabled: boolean;
  step: {
    id: string;
    step_order: number;
    exit_on_reply: boolean;
    subject_template: string | null;
    body_template: string | null;
  } | null;
  existing: MessageRow | null;
  replied: boolean;
  mailbox: MailboxRow | null;
  target: Record<string, string | null> | null;
  suppression: string | null;
  experiment: {
    id: string;
    status: string;
    winner_variant_id: string | null;
    assigned: VariantRow | null;
    variants: VariantRow[];
  } | null;
  previous: Pick<MessageRow, 'subject' | 'message_id_header' | 'references_headers'> | null;
  next_step: NextStep | null;
}

/**
 * One round trip for every read of a send (app.send_step_state, migration 0730). In a transaction
 * ($3) it takes the enrollment row lock first and reads after it; on the fast path it only reads,
 * and the reservation takes the locks and reads everything that matters again.
 */
const STATE_SQL = 'SELECT * FROM app.send_step_state($1, $2, $3)';

/**
 * The reservation (app.reserve_outbound_message): mailbox row lock, daily-cap count, minimum gap,
 * and a fresh look at mailbox status, exit on reply and suppression; the message row, its pixel
 * and the variant assignment are written only when all pass.
 */
const RESERVE_SQL =
  'SELECT * FROM app.reserve_outbound_message($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)';

/** Thrown inside the prepare transaction when a lock wait made its first read stale: read again. */
class StaleRead extends Error {}

/**
 * `client`: inside a tenant transaction (holds the enrollment lock from the read on). Without one
 * (fast path) each statement is its own implicit transaction, and whatever needs a write of its own
 * or a decision the reservation cannot re-check throws StaleRead, to run again in a transaction.
 */
async function prepare(
  ctx: TaskContext,
  client: TenantClient | undefined,
  deps: SendStepDeps,
  base: string,
  fresh: boolean,
): Promise<Prepared> {
  const { task, clock } = ctx;
  const enrollmentId = task.enrollment_id!;
  const stepId = task.step_id!;
  const now = clock.now();
  const needTransaction = (why: string): TenantClient => {
    if (!client) throw new StaleRead(`${why}: needs a transaction`);
    return client;
  };
  const state = client
    ? (await client.query<SendState>(STATE_SQL, [enrollmentId, stepId, true])).rows[0]
    : await batchers(ctx.pool).state.call(task.organisation_id, { enrollment: enrollmentId, step: stepId });
  const done = async (note: string): Promise<Prepared> => {
    await ctx.complete(needTransaction(note), note);
    return { kind: 'done' };
  };
  const stopEnrollment = (status: string) =>
    needTransaction(`enrollment ${status}`).query(
      `UPDATE outreach.campaign_enrollments SET status = $2, next_run_at = NULL WHERE id = $1`,
      [enrollmentId, status],
    );
  if (!state) return await done('enrollment no longer exists');
  const step = state.step;
  if (!step) return await done('step no longer exists');
  const existing = state.existing;
  if (existing && existing.status !== 'queued') return await done(`message already ${existing.status}`);

  if (existing) needTransaction('resend of an earlier reservation');
  const replied = state.replied;
  const suppressionReason = state.suppression;
  const stopForReply = step.exit_on_reply && (replied || state.status === 'replied');
  if (stopForReply || (state.status !== 'active' && !(state.status === 'replied' && !step.exit_on_reply))) {
    if (stopForReply && state.status === 'active') await stopEnrollment('replied');
    if (existing) {
      await needTransaction('stopped').query(
        `UPDATE outreach.messages SET status = 'failed', error = 'not sent: enrollment stopped' WHERE id = $1`,
        [existing.id],
      );
    }
    return await done(`enrollment ${stopForReply ? 'replied' : state.status}: not sent`);
  }
  // Re-activation enqueues a fresh schedule task for this enrollment.
  if (state.campaign_status !== 'active') return await done(`campaign ${state.campaign_status}: not sent`);
  if (!state.mailbox_id) return { kind: 'fail', reason: 'campaign has no mailbox' };
  const mailbox = state.mailbox;
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

  const target = state.target;
  if (!target?.email) {
    await stopEnrollment('paused');
    return { kind: 'fail', reason: 'the position has no email address' };
  }
  const suppressed = async (reason: string): Promise<Prepared> => {
    await stopEnrollment(TERMINAL_ENROLLMENT[reason] ?? 'unsubscribed');
    if (existing)
      await needTransaction('suppressed').query(
        `UPDATE outreach.messages SET status = 'failed', error = 'not sent: suppressed' WHERE id = $1`,
        [existing.id],
      );
    return await done(`suppressed (${reason}): not sent`);
  };
  if (suppressionReason) return await suppressed(suppressionReason);

  const reservedFrom = (row: MessageRow, variantId: string | null): Reserved => ({
    kind: 'send',
    messageRowId: row.id,
    campaignId: state.campaign_id,
    variantId,
    stepOrder: step.step_order,
    mailbox,
    nextStep: state.next_step,
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

  const { variant, store } = chooseVariant(state, deps.variantSeed, enrollmentId);
  const subjectTemplate: string | null = variant?.subject_template ?? step.subject_template;
  const bodyTemplate: string | null = variant?.body_template ?? step.body_template;
  if (!bodyTemplate) return { kind: 'fail', reason: 'step has no body template' };
  const previous = subjectTemplate ? null : state.previous;
  if (!subjectTemplate && !previous) {
    // No subject: a follow-up in the same thread as the previous step's message.
    await stopEnrollment('paused');
    return { kind: 'fail', reason: 'step has no subject template and no earlier message to reply to' };
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
    await stopEnrollment('paused');
    return { kind: 'fail', reason: `template of step ${step.step_order}: ${error.message}` };
  }

  const unsubscribeToken = randomToken();
  const messageIdHeader = messageIdFor(task.organisation_id, enrollmentId, stepId, mailbox.from_address);
  const pixelToken = state.tracking_enabled ? randomToken() : null;
  let html = `<div>${escapeHtml(text).replace(/\r?\n/g, '<br>\n')}</div>`;
  if (pixelToken)
    html += `\n<img src="${base}/t/${pixelToken}.gif" width="1" height="1" alt="" style="display:none">`;
  const references = previous ? [...(previous.references_headers ?? []), previous.message_id_header] : [];
  const { start, end } = localDayBounds(now, mailbox.time_zone);
  const reserveArgs: ReserveArgs = {
    enrollment: enrollmentId,
    step: stepId,
    variant: variant?.id ?? null,
    mailbox: mailbox.id,
    message_id_header: messageIdHeader,
    in_reply_to: previous?.message_id_header ?? null,
    refs: references,
    from_address: mailbox.from_address,
    to_address: target.email,
    subject,
    body_text: text,
    body_html: html,
    unsubscribe_token: unsubscribeToken,
    now,
    pixel_token: pixelToken,
    day_start: start,
    day_end: end,
    exit_on_reply: step.exit_on_reply,
    store,
  };
  const reserved = client
    ? (
        await client.query<ReserveResult>(
          RESERVE_SQL,
          RESERVE_KEYS.map((k) => reserveArgs[k]),
        )
      ).rows[0]!
    : await batchers(ctx.pool).reserve.call(task.organisation_id, reserveArgs);
  if (!reserved.message_row_id) {
    const enrollmentGoes =
      reserved.enrollment_status === 'active' ||
      (reserved.enrollment_status === 'replied' && !step.exit_on_reply);
    if (
      !enrollmentGoes ||
      reserved.campaign_status !== 'active' ||
      reserved.mailbox_status !== 'active' ||
      reserved.replied ||
      reserved.suppression
    ) {
      // Changed since the read (or while waiting for the locks): decide again on a fresh read.
      if (!fresh) throw new StaleRead('enrollment, campaign, mailbox, reply or suppression changed');
      if (reserved.campaign_status !== 'active')
        return await done(`campaign ${reserved.campaign_status}: not sent`);
      if (reserved.suppression) return await suppressed(reserved.suppression);
      if (reserved.mailbox_status !== 'active')
        throw new SnoozeError(
          new Date(now.getTime() + (deps.pausedMailboxSnoozeMs ?? 600_000)),
          `mailbox ${reserved.mailbox_status ?? 'not found'}`,
        );
      // A reply or status change committed while even the fresh read waited for the lock: the
      // next run decides on what is committed now.
      throw new SnoozeError(now, 'enrollment changed while waiting for its lock');
    }
    if (reserved.n >= reserved.daily_limit)
      throw new SnoozeError(nextDayWindowStart(now, window), `daily cap of ${reserved.daily_limit} reached`);
    if (mailbox.min_gap_seconds > 0 && reserved.last) {
      const earliest = new Date(new Date(reserved.last).getTime() + mailbox.min_gap_seconds * 1000);
      if (earliest > now)
        throw new SnoozeError(nextWindowStart(earliest, window), 'minimum gap between sends');
    }
    // The message row exists after all (reserved by an attempt this read did not see).
    throw new StaleRead('the message was reserved concurrently');
  }
  return reservedFrom(
    {
      id: reserved.message_row_id,
      status: 'queued',
      variant_id: variant?.id ?? null,
      to_address: target.email,
      subject,
      body_text: text,
      body_html: html,
      message_id_header: messageIdHeader,
      unsubscribe_token: unsubscribeToken,
      in_reply_to: previous?.message_id_header ?? null,
      references_headers: references,
    },
    variant?.id ?? null,
  );
}

/**
 * The enrollment's variant for this step: stored assignment, else the chosen winner, else a
 * stable weighted pick (`store`: the reservation statement records it with the message).
 */
function chooseVariant(
  state: SendState,
  seed: string,
  enrollmentId: string,
): { variant: VariantRow | undefined; store: boolean } {
  const experiment = state.experiment;
  if (!experiment) return { variant: undefined, store: false };
  if (experiment.assigned) return { variant: experiment.assigned, store: false };
  const variants = experiment.variants;
  if (variants.length === 0) return { variant: undefined, store: false };
  const chosen =
    experiment.status === 'winner_chosen' && experiment.winner_variant_id
      ? variants.find((v) => v.id === experiment.winner_variant_id)!
      : pickVariant(seed, experiment.id, enrollmentId, variants);
  return { variant: chosen, store: true };
}

// Fast-path statements batched per organisation (KeyedBatcher): one statement, one round trip and
// one implicit transaction for every call that arrives while the previous one is on the wire.
// Rows are handed to the functions sorted by the rows they lock in common (mailbox; campaign
// and variant for the daily stat), so concurrent batches take those locks in the same order.
const STATE_BATCH_SQL = `SELECT k.i AS batch_index, st.*
FROM jsonb_to_recordset($1::jsonb) AS k(i int, enrollment uuid, step uuid)
LEFT JOIN LATERAL app.send_step_state(k.enrollment, k.step, false) AS st ON true`;

interface ReserveArgs {
  enrollment: string;
  step: string;
  variant: string | null;
  mailbox: string;
  message_id_header: string;
  in_reply_to: string | null;
  refs: string[];
  from_address: string;
  to_address: string;
  subject: string;
  body_text: string;
  body_html: string;
  unsubscribe_token: string;
  now: Date;
  pixel_token: string | null;
  day_start: Date;
  day_end: Date;
  exit_on_reply: boolean;
  store: boolean;
}
const RESERVE_KEYS: (keyof ReserveArgs)[] = [
  'enrollment',
  'step',
  'variant',
  'mailbox',
  'message_id_header',
  'in_reply_to',
  'refs',
  'from_address',
  'to_address',
  'subject',
  'body_text',
  'body_html',
  'unsubscribe_token',
  'now',
  'pixel_token',
  'day_start',
  'day_end',
  'exit_on_reply',
  'store',
];
const RESERVE_BATCH_SQL = `SELECT k.i AS batch_index, r.*
FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(i int, enrollment uuid, step uuid, variant uuid, mailbox uuid,
        message_id_header text, in_reply_to text, refs text[], from_address citext, to_address citext, subject text,
        body_text text, body_html text, unsubscribe_token text, now timestamptz, pixel_token text,
        day_start timestamptz, day_end timestamptz, exit_on_reply boolean, store boolean)
      ORDER BY mailbox, enrollment) AS k
CROSS JOIN LATERAL app.reserve_outbound_message(k.enrollment, k.step, k.variant, k.mailbox, k.message_id_header,
  k.in_reply_to, k.refs, k.from_address, k.to_address, k.subject, k.body_text, k.body_html, k.unsubscribe_token,
  k.now, k.pixel_token, k.day_start, k.day_end, k.exit_on_reply, k.store) AS r`;

interface RecordArgs {
  organisation: string;
  task: string;
  worker: string;
  now: Date;
  message: string;
  response: string;
  campaign: string;
  variant: string | null;
  enrollment: string;
  step_order: number;
  next_step: string | null;
  run_at: Date | null;
  priority: number;
  dedupe_key: string | null;
}
/**
 * Sent (app.record_sent): task completed with the lease check of complete(), message marked sent,
 * daily stat bumped, enrollment advanced and — unless a reply or unsubscribe stopped it while
 * SMTP was busy — the next step enqueued or the enrollment completed.
 */
const RECORD_KEYS: (keyof RecordArgs)[] = [
  'organisation',
  'task',
  'worker',
  'now',
  'message',
  'response',
  'campaign',
  'variant',
  'enrollment',
  'step_order',
  'next_step',
  'run_at',
  'priority',
  'dedupe_key',
];
const RECORD_SQL =
  'SELECT app.record_sent($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) AS completed';
const RECORD_BATCH_SQL = `SELECT k.i AS batch_index, app.record_sent(k.organisation, k.task, k.worker, k.now, k.message,
  k.response, k.campaign, k.variant, k.enrollment, k.step_order, k.next_step, k.run_at, k.priority::smallint,
  k.dedupe_key) AS completed
FROM (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(i int, organisation uuid, task uuid, worker text, now timestamptz,
        message uuid, response text, campaign uuid, variant uuid, enrollment uuid, step_order int, next_step uuid,
        run_at timestamptz, priority int, dedupe_key text)
      ORDER BY campaign, variant NULLS FIRST, enrollment) AS k`;

interface Batchers {
  state: KeyedBatcher<{ enrollment: string; step: string }, SendState | undefined>;
  reserve: KeyedBatcher<ReserveArgs, ReserveResult>;
  record: KeyedBatcher<RecordArgs, number>;
}
const batchersByPool = new WeakMap<Pool, Batchers>();

function batchers(pool: Pool): Batchers {
  let b = batchersByPool.get(pool);
  if (b) return b;
  // A batch of one (the common case when organisations interleave) calls the function with plain
  // parameters: cheaper to plan than the jsonb_to_recordset form.
  const run =
    <A, R extends QueryResultRow>(batchText: string, singleText: string, params: (item: A) => unknown[]) =>
    async (organisationId: string, items: A[]): Promise<(R | undefined)[]> => {
      if (items.length === 1) {
        const { rows } = await runWithTenant({ organisationId }, () =>
          tenantQuery<R>(pool, singleText, params(items[0]!)),
        );
        return [rows[0]];
      }
      const { rows } = await runWithTenant({ organisationId }, () =>
        tenantQuery<R & { batch_index: number }>(pool, batchText, [
          JSON.stringify(items.map((item, i) => ({ ...item, i }))),
        ]),
      );
      const out: (R | undefined)[] = new Array(items.length).fill(undefined);
      for (const row of rows) out[row.batch_index] = row;
      return out;
    };
  const state = run<{ enrollment: string; step: string }, SendState>(STATE_BATCH_SQL, STATE_SQL, (a) => [
    a.enrollment,
    a.step,
    false,
  ]);
  const reserve = run<ReserveArgs, ReserveResult>(RESERVE_BATCH_SQL, RESERVE_SQL, (a) =>
    RESERVE_KEYS.map((k) => a[k]),
  );
  const record = run<RecordArgs, { completed: number }>(RECORD_BATCH_SQL, RECORD_SQL, (a) =>
    RECORD_KEYS.map((k) => a[k]),
  );
  b = {
    state: new KeyedBatcher(async (org, items) =>
      (await state(org, items)).map((row) => (row?.id ? row : undefined)),
    ),
    reserve: new KeyedBatcher(async (org, items) =>
      (await reserve(org, items)).map((row) => {
        if (!row) throw new Error('reservation returned no row');
        return row;
      }),
    ),
    record: new KeyedBatcher(async (org, items) =>
      (await record(org, items)).map((row) => row?.completed ?? 0),
    ),
  };
  batchersByPool.set(pool, b);
  return b;
}

async function recordSent(ctx: TaskContext, sent: Reserved, response: string, now: Date): Promise<void> {
  const { task } = ctx;
  const next = sent.nextStep;
  const runAt = next ? followUpAt(now, next.delay_days, windowOf(sent.mailbox)) : null;
  // One statement, one round trip, its own implicit transaction, shared with the organisation's
  // other sends recorded meanwhile. record_sent writes nothing when the lease is lost (0).
  const completed = await batchers(ctx.pool).record.call(task.organisation_id, {
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
    priority: PRIORITY.followUp,
    dedupe_key: next ? sendStepKey(task.enrollment_id!, next.id) : null,
  });
  ctx.completedInTransaction(completed === 1);
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
