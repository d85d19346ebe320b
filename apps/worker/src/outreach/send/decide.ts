import type { CampaignStatus, EnrollmentStatus, MailboxStatus, MessageStatus } from '@prospectflow/contracts';
import type { StopReason } from '@prospectflow/outreach-core';
import { nextDayWindowStart, nextWindowStart, type SendingWindow } from '../schedule.js';

/**
 * THE file that decides whether a message is sent now. Pure: facts in, decision out; the caller
 * (prepare.ts) reads the facts and carries the decision out. The same function runs twice on a
 * send: on the read, and — when the reservation (which re-checks everything under the locks)
 * refused — on the facts the reservation saw, with the mailbox's usage of the day; or, on a
 * resend, with the mailbox's usage apart from the message's own reservation.
 */
export interface SendFacts {
  /** null: the enrollment no longer exists. */
  enrollment: EnrollmentStatus | null;
  /** null: the step no longer exists. */
  step: { exitOnReply: boolean } | null;
  /** Status of this step's outbound message when an earlier attempt reserved it. */
  existing: MessageStatus | null;
  /** An inbound reply to the enrollment exists. */
  replied: boolean;
  campaign: CampaignStatus | null;
  /** The campaign names a mailbox. */
  hasMailbox: boolean;
  /** null: the campaign's mailbox was not found. */
  mailbox: {
    status: MailboxStatus | null;
    /** Verified (logged in and round-tripped, or its relay domain proved): only then may it send. */
    verified: boolean;
    window: SendingWindow;
    minGapSeconds: number;
  } | null;
  /** The recipient has an email address. */
  hasEmail: boolean;
  /** Why the recipient is suppressed (suppression list reason, or 'erased_or_objected'), else null. */
  suppression: string | null;
  /**
   * The mailbox's sends of the local day and its last send: known once a reservation counted them.
   * For a resend, read without its own reservation (prepare.ts), which must not hold it back.
   */
  usage?: { sentToday: number; dailyLimit: number; lastSentAt: Date | null };
}

export type Decision =
  /** Send: compose and reserve a new message. */
  | { kind: 'send' }
  /**
   * Send again the message an earlier attempt reserved (same Message-ID). Held by the daily cap and
   * the minimum gap like a send, counted without its own reservation: the mailbox may have sent
   * other messages since (a 4xx retry comes minutes later), and the gap runs from the last of them.
   */
  | { kind: 'resend' }
  /**
   * Nothing to send: complete the task; `stop` ends the enrollment through outreach-core's
   * stopEnrollment (its STOP_RULES say the status), `failExisting` fails its reserved message.
   */
  | {
      kind: 'skip';
      note: string;
      stop?: { reason: StopReason; suppressedAs?: string };
      failExisting?: string;
    }
  /** The task fails for good; `pauseEnrollment`: the enrollment waits for a person to fix it. */
  | { kind: 'fail'; reason: string; pauseEnrollment: boolean }
  /** Not now: the task runs again at `until` without spending an attempt. */
  | { kind: 'snooze'; until: Date; reason: string; cause: SnoozeCause };

export type SnoozeCause = 'mailbox' | 'window' | 'cap' | 'gap';

export interface DecideOptions {
  /** How long a task waits when its mailbox is not active. */
  pausedMailboxSnoozeMs: number;
}

export function decide(facts: SendFacts, now: Date, options: DecideOptions): Decision {
  if (!facts.enrollment) return { kind: 'skip', note: 'enrollment no longer exists' };
  if (!facts.step) return { kind: 'skip', note: 'step no longer exists' };
  if (facts.existing && facts.existing !== 'queued')
    return { kind: 'skip', note: `message already ${facts.existing}` };

  const status = facts.enrollment;
  const exitOnReply = facts.step.exitOnReply;
  const failExisting = (why: string) => (facts.existing ? { failExisting: `not sent: ${why}` } : {});
  // Exit on reply: a reply seen, or an enrollment already marked replied, stops the sequence.
  const stopForReply = exitOnReply && (facts.replied || status === 'replied');
  // A replied enrollment goes on only with steps that do not exit on reply.
  const goesOn = status === 'active' || (status === 'replied' && !exitOnReply);
  if (stopForReply || !goesOn) {
    return {
      kind: 'skip',
      note: `enrollment ${stopForReply ? 'replied' : status}: not sent`,
      ...(stopForReply && status === 'active' ? { stop: { reason: 'reply' as const } } : {}),
      ...failExisting('enrollment stopped'),
    };
  }
  // Re-activation enqueues a fresh schedule task for the enrollment.
  if (facts.campaign !== 'active') return { kind: 'skip', note: `campaign ${facts.campaign}: not sent` };
  if (!facts.hasMailbox) return { kind: 'fail', reason: 'campaign has no mailbox', pauseEnrollment: false };
  const mailbox = facts.mailbox;
  if (!mailbox) return { kind: 'fail', reason: 'mailbox not found', pauseEnrollment: false };
  if (mailbox.status !== 'active') {
    const until = new Date(now.getTime() + options.pausedMailboxSnoozeMs);
    return { kind: 'snooze', until, reason: `mailbox ${mailbox.status ?? 'not found'}`, cause: 'mailbox' };
  }
  // Changed credentials are re-verified before anything (a resend included) leaves again.
  if (!mailbox.verified) {
    const until = new Date(now.getTime() + options.pausedMailboxSnoozeMs);
    return { kind: 'snooze', until, reason: 'mailbox not verified', cause: 'mailbox' };
  }
  const opens = nextWindowStart(now, mailbox.window);
  if (opens.getTime() > now.getTime())
    return { kind: 'snooze', until: opens, reason: 'outside the sending window', cause: 'window' };
  if (!facts.hasEmail)
    return { kind: 'fail', reason: 'the position has no email address', pauseEnrollment: true };
  if (facts.suppression) {
    const reason = facts.suppression;
    return {
      kind: 'skip',
      note: `suppressed (${reason}): not sent`,
      stop: { reason: 'suppressed', suppressedAs: reason },
      ...failExisting('suppressed'),
    };
  }
  // A resend's usage is read only once it is known to be one (prepare.ts), then decided again here.
  const usage = facts.usage;
  if (usage && usage.sentToday >= usage.dailyLimit) {
    const until = nextDayWindowStart(now, mailbox.window);
    return { kind: 'snooze', until, reason: `daily cap of ${usage.dailyLimit} reached`, cause: 'cap' };
  }
  if (usage?.lastSentAt && mailbox.minGapSeconds > 0) {
    const earliest = new Date(usage.lastSentAt.getTime() + mailbox.minGapSeconds * 1000);
    if (earliest > now)
      return {
        kind: 'snooze',
        until: nextWindowStart(earliest, mailbox.window),
        reason: 'minimum gap between sends',
        cause: 'gap',
      };
  }
  return facts.existing ? { kind: 'resend' } : { kind: 'send' };
}
