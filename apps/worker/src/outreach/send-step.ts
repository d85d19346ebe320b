import { SpanKind } from '@opentelemetry/api';
import type { SubjectKeys } from '@prospectflow/outreach-core';
import { withSpan } from '@prospectflow/telemetry';
import type { MailboxSender } from '../mailboxes/sender.js';
import { classifySmtpError, type SmtpFailure } from '../mailboxes/smtp-errors.js';
import { PermanentError, ReleasedError, RetryableError, SnoozeError } from '../queue/errors.js';
import { inTenant } from '../queue/sql.js';
import type { TaskContext, TaskHandler } from '../queue/types.js';
import { giveUp, mailboxRefused, markNotified, recordBounce, recordSent } from './send/outcome.js';
import { type PrepareDeps, type Prepared, prepare, StaleRead } from './send/prepare.js';
import { readAhead } from './send/read-ahead.js';
import { foundInSent } from './send/sent-check.js';

/**
 * The send_step handler: prepare (read → decide → compose → reserve, send/prepare.ts), SMTP, then
 * the outcome (send/outcome.ts). Whether a message goes out now is decided in send/decide.ts.
 */

export interface SendStepDeps {
  /** Sends through the mailbox's own account, or the relay for a proved domain (fails closed). */
  sender: MailboxSender;
  /** Base of tracking and unsubscribe links, e.g. https://app.example.com */
  publicBaseUrl: string;
  /** HMAC key of A/B assignment. */
  variantSeed: string;
  /** How long a task waits when its mailbox is paused. */
  pausedMailboxSnoozeMs?: number;
  /** Keys of the hashed suppression list (erased and objecting people); checked before each send. */
  subjectKeys?: SubjectKeys;
}

/** A missing key is logged as an error at most this often per mailbox (its sends snooze every 10 min). */
const KEY_MISSING_LOG_MS = 3_600_000;

/** Logs each mailbox's missing key once an hour, not once per waiting send; the rest at debug. */
class OncePerMailbox {
  readonly #last = new Map<string, number>();
  constructor(private readonly everyMs: number) {}

  report(ctx: TaskContext, mailboxId: string, detail: string): void {
    const now = ctx.clock.now().getTime();
    const last = this.#last.get(mailboxId);
    if (last !== undefined && now - last < this.everyMs) {
      ctx.log.debug({ mailboxId }, 'mailbox credentials key unavailable: send waits');
      return;
    }
    // Bounded: a stale entry only means one more error line.
    if (this.#last.size >= 10_000) this.#last.clear();
    this.#last.set(mailboxId, now);
    ctx.log.error(
      { mailboxId, detail },
      'mailbox credentials key unavailable: its sends wait until the key is restored',
    );
  }
}

export function sendStep(deps: SendStepDeps): TaskHandler {
  const prepareDeps: PrepareDeps = {
    base: deps.publicBaseUrl.replace(/\/+$/, ''),
    variantSeed: deps.variantSeed,
    pausedMailboxSnoozeMs: deps.pausedMailboxSnoozeMs ?? 600_000,
    subjectKeys: deps.subjectKeys,
  };
  const keyMissing = new OncePerMailbox(KEY_MISSING_LOG_MS);
  const handler: TaskHandler = async (ctx) => {
    const { task, pool, clock, signal } = ctx;
    if (!task.enrollment_id || !task.step_id)
      throw new PermanentError('send_step needs enrollment_id and step_id');
    // Fast path: read, then reserve, each one statement in its own implicit transaction (the
    // reservation locks and re-checks everything itself). Anything else — a write to make, an
    // earlier reservation to resend, a stop condition that changed — falls back to a transaction
    // that holds the enrollment lock from the read on, and then to a fresh one.
    let prepared: Prepared;
    try {
      prepared = await prepare(ctx, undefined, prepareDeps, false);
    } catch (error) {
      if (!(error instanceof StaleRead)) throw error;
      try {
        prepared = await inTenant(pool, task.organisation_id, (client) =>
          prepare(ctx, client, prepareDeps, false),
        );
      } catch (error) {
        if (!(error instanceof StaleRead)) throw error;
        prepared = await inTenant(pool, task.organisation_id, (client) =>
          prepare(ctx, client, prepareDeps, true),
        );
      }
    }
    if (prepared.kind === 'done') return;
    if (prepared.kind === 'fail') throw new PermanentError(prepared.reason);
    // Last safe point: after this the mail may be out, so shutdown waits for the outcome.
    if (signal.aborted) throw new ReleasedError('shutdown before sending');
    let failure: SmtpFailure | undefined;
    let response: string | undefined;
    try {
      // An earlier attempt may have been accepted by SMTP and died before recording it.
      if (prepared.resend) response = await foundInSent(ctx, deps.sender, prepared);
      if (response === undefined) {
        // A client span per SMTP submission (nodemailer has no maintained instrumentation).
        const sent = await withSpan(
          'smtp send',
          { 'smtp.message_id': prepared.mail.messageId },
          () => deps.sender.send(pool, prepared.mailbox, prepared.mail),
          SpanKind.CLIENT,
        );
        response = sent.response;
      }
    } catch (error) {
      // The Sent folder could not be searched: foundInSent chose to retry.
      if (error instanceof RetryableError) throw error;
      failure = classifySmtpError(error);
    }
    const now = clock.now();
    if (!failure) {
      // Recorded before the slot is free: a crash between SMTP's 250 and this record is the resend
      // window (Sent-folder check), kept as short as one record statement.
      await recordSent(ctx, prepared, response ?? '', now);
      if (prepared.noticeForPosition) await markNotified(ctx, prepared.noticeForPosition, now);
      return;
    }
    if (failure.kind === 'bounce') {
      await inTenant(pool, task.organisation_id, (client) =>
        recordBounce(ctx, client, prepared, failure.detail, now),
      );
      return;
    }
    const later = new Date(now.getTime() + prepareDeps.pausedMailboxSnoozeMs);
    if (failure.kind === 'auth' || failure.kind === 'secrets_unreadable') {
      await mailboxRefused(
        ctx,
        prepared.mailbox.id,
        failure.kind === 'auth' ? 'smtp:auth' : 'secrets:secrets_unreadable',
        failure.kind === 'auth'
          ? `SMTP refused the mailbox (authentication, sender or connection): ${failure.detail}`
          : failure.detail,
      );
      deps.sender.forget(prepared.mailbox.id);
      throw new SnoozeError(later, `mailbox error: ${failure.detail}`);
    }
    if (failure.kind === 'secrets_unavailable') {
      // The key is missing here, not the mailbox's fault: nothing changes on it and no attempt is
      // spent, so the send goes out once an operator restores the key (runbook rotate-secret-keys.md).
      keyMissing.report(ctx, prepared.mailbox.id, failure.detail);
      throw new SnoozeError(later, `mailbox credentials sealed under a missing key: ${failure.detail}`);
    }
    if (failure.kind === 'unproven') {
      ctx.log.warn(
        { mailboxId: prepared.mailbox.id, detail: failure.detail },
        'send refused: sender not proved',
      );
      throw new SnoozeError(later, `sender not proved: ${failure.detail}`);
    }
    if (failure.kind === 'rejected') {
      // Content or policy refusal after DATA: the same message would be refused again.
      await giveUp(ctx, prepared.messageRowId, failure.detail);
      throw new PermanentError(`SMTP refused the message: ${failure.detail}`);
    }
    if (task.attempts >= task.max_attempts) {
      await giveUp(ctx, prepared.messageRowId, failure.detail);
      throw new PermanentError(`SMTP kept failing after ${task.attempts} attempts: ${failure.detail}`);
    }
    throw new RetryableError(`SMTP deferred: ${failure.detail}`);
  };
  // Start the state reads of claimed-ahead tasks while the slots are busy.
  handler.onClaimed = readAhead;
  return handler;
}
