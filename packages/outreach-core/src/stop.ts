import type { EnrollmentStatus } from '@prospectflow/contracts';
import { bumpDailyStat, type Queryable, type StatColumn } from './stats.js';
import { cancelPendingTasks, resumeAtPendingTasks } from './tasks.js';

/**
 * Stopping an enrollment, defined once (suppress, stop, cancel pending tasks, count) and used by
 * every path that stops one: a hard bounce (worker SMTP, DSN through the inbound webhook or the
 * IMAP poller), a reply (webhook, IMAP poller, the worker's exit-on-reply check), an unsubscribe
 * (one-click link, recipient page), a manual stop by a member, and an address found suppressed at
 * send time.
 */

export type StopReason = 'bounce' | 'reply' | 'unsubscribe' | 'complaint' | 'manual' | 'suppressed';

/** outreach.suppressions.reason (CHECK). */
export type SuppressionReason = 'unsubscribed' | 'hard_bounce' | 'complaint' | 'manual';

export interface StopRule {
  /** The enrollment's status after the stop. */
  status: EnrollmentStatus;
  /** The address goes on the suppression list with this reason (null: not suppressed). */
  suppress: SuppressionReason | null;
  /** The daily counter bumped when the enrollment changed status (null: none). */
  counter: StatColumn | null;
  /** Statuses the stop applies to (others are left as they are: a bounced enrollment stays bounced). */
  from: readonly EnrollmentStatus[];
  /**
   * Pending sends of steps with exit_on_reply = false stay queued (a reply): the sequence goes on
   * with them, as the worker's send decision and app.record_sent allow for a replied enrollment.
   */
  keepsStepsThatGoOn?: boolean;
}

const ANY_OPEN: readonly EnrollmentStatus[] = ['active', 'paused', 'replied', 'completed'];

export const STOP_RULES: Record<Exclude<StopReason, 'suppressed'>, StopRule> = {
  bounce: { status: 'bounced', suppress: 'hard_bounce', counter: 'bounced', from: ANY_OPEN },
  // A reply ends a running sequence; it is no reason to refuse the address later. A reply after
  // the last step (completed) or to a paused enrollment is a reply too: marked and counted once.
  reply: {
    status: 'replied',
    suppress: null,
    counter: 'replied',
    from: ['active', 'paused', 'completed'],
    keepsStepsThatGoOn: true,
  },
  unsubscribe: { status: 'unsubscribed', suppress: 'unsubscribed', counter: 'unsubscribed', from: ANY_OPEN },
  complaint: { status: 'unsubscribed', suppress: 'complaint', counter: 'unsubscribed', from: ANY_OPEN },
  manual: {
    status: 'unsubscribed',
    suppress: 'manual',
    counter: null,
    from: ['active', 'paused', 'replied'],
  },
};

/** The enrollment status an address already on the list (with this reason) ends an enrollment with. */
export const SUPPRESSED_ENROLLMENT: Record<string, EnrollmentStatus> = {
  hard_bounce: 'bounced',
  complaint: 'unsubscribed',
  unsubscribed: 'unsubscribed',
  manual: 'unsubscribed',
};

/**
 * The rule of a stop. `suppressed` (found on the suppression list, or the hashed list of erased
 * and objecting people, at send time): the status follows the list's reason; nothing is added to
 * the list (an erased address must never be written back in clear) and nothing is counted (the
 * path that suppressed the address counted it).
 */
export function stopRule(reason: StopReason, suppressedAs?: string): StopRule {
  if (reason !== 'suppressed') return STOP_RULES[reason];
  return {
    status: SUPPRESSED_ENROLLMENT[suppressedAs ?? ''] ?? 'unsubscribed',
    suppress: null,
    counter: null,
    from: ANY_OPEN,
  };
}

export type StopTarget =
  /** One enrollment. */
  | { enrollmentId: string; email?: string | null }
  /** Every enrollment of positions with this address. */
  | { enrollmentId?: undefined; email: string };

export type StopRequest = StopTarget & {
  /** When given, the statements are also scoped to it (the client's tenant must be the same). */
  organisationId?: string;
  reason: StopReason;
  /** For `suppressed`: the suppression list's reason. */
  suppressedAs?: string;
  /** The message that caused the stop: the suppression's source and the counter's variant. */
  messageId?: string | null;
  /** When it happened (the counter's day). */
  at: Date;
};

export interface StopResult {
  /** Enrollments whose status changed (their pending tasks were cancelled and counted). */
  stopped: string[];
  /** The address was added to the suppression list (false: already there, or not a suppressing stop). */
  suppressed: boolean;
}

/**
 * Suppresses the address (per the rule), moves the target enrollments that are in a `from`
 * status to the rule's status, cancels their pending tasks and bumps the rule's counter once per
 * enrollment that changed. Runs inside the caller's tenant transaction (RLS applies). Idempotent:
 * a second call changes and counts nothing.
 */
export async function stopEnrollment(client: Queryable, request: StopRequest): Promise<StopResult> {
  const rule = stopRule(request.reason, request.suppressedAs);
  const org = request.organisationId ?? null;
  let suppressed = false;
  if (rule.suppress) {
    const email =
      request.email ??
      (
        await client.query<{ email: string | null }>(
          `SELECT p.email::text AS email FROM outreach.campaign_enrollments e
           JOIN crm.positions p ON p.organisation_id = e.organisation_id AND p.id = e.position_id
           WHERE e.id = $1 AND ($2::uuid IS NULL OR e.organisation_id = $2)`,
          [request.enrollmentId, org],
        )
      ).rows[0]?.email;
    if (email) suppressed = await suppressAddress(client, email, rule.suppress, request.messageId ?? null);
  }
  const { rows } = await client.query<{ id: string; campaign_id: string; variant_id: string | null }>(
    `UPDATE outreach.campaign_enrollments AS e SET status = $3, next_run_at = NULL
     WHERE e.status = ANY ($4::text[]) AND ($5::uuid IS NULL OR e.organisation_id = $5)
       AND (CASE WHEN $1::uuid IS NOT NULL THEN e.id = $1
            ELSE e.position_id = (SELECT app.position_id_for_email($2::citext)) END)
     RETURNING e.id, e.campaign_id,
       (SELECT m.variant_id FROM outreach.messages m
         WHERE m.organisation_id = e.organisation_id AND m.id = $6 AND m.enrollment_id = e.id) AS variant_id`,
    [
      request.enrollmentId ?? null,
      request.email ?? null,
      rule.status,
      rule.from,
      org,
      request.messageId ?? null,
    ],
  );
  const stopped = rows.map((r) => r.id);
  await cancelPendingTasks(client, stopped, { keepStepsThatGoOn: rule.keepsStepsThatGoOn ?? false });
  if (rule.keepsStepsThatGoOn) await resumeAtPendingTasks(client, stopped);
  if (rule.counter) {
    for (const row of rows)
      await bumpDailyStat(client, row.campaign_id, row.variant_id, rule.counter, request.at);
  }
  return { stopped, suppressed };
}

/** Puts an address on the organisation's suppression list; false when it was already there. */
export async function suppressAddress(
  client: Queryable,
  email: string,
  reason: SuppressionReason,
  sourceMessageId: string | null,
): Promise<boolean> {
  const inserted = await client.query(
    `INSERT INTO outreach.suppressions (email, reason, source_message_id) VALUES ($1, $2, $3)
     ON CONFLICT (organisation_id, email) DO NOTHING`,
    [email, reason, sourceMessageId],
  );
  return (inserted.rowCount ?? 0) > 0;
}
