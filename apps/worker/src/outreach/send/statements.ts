import type { CampaignStatus, EnrollmentStatus, MailboxStatus, MessageStatus } from '@prospectflow/contracts';
import type { MailboxRow } from '../window.js';
import { type ArgsOf, sqlFunction } from './sql-function.js';

/**
 * The send path's three statements (migration 0730), each defined once by its parameter list
 * (checked against pg_proc by test/send-statements.test.ts); batchers.ts sends them.
 */

/**
 * One round trip for every read of a send. `lock`: take the enrollment row lock first (inside the
 * transaction of the slow path); the fast path only reads, and the reservation re-checks.
 */
export const SEND_STEP_STATE = sqlFunction({
  name: 'app.send_step_state',
  params: [
    ['enrollment', 'uuid'],
    ['step', 'uuid'],
    ['lock', 'boolean'],
  ],
  returns: {
    table: [
      'id',
      'status',
      'position_id',
      'campaign_id',
      'campaign_status',
      'mailbox_id',
      'tracking_enabled',
      'step',
      'existing',
      'replied',
      'mailbox',
      'target',
      'suppression',
      'experiment',
      'previous',
      'next_step',
    ],
  },
  join: 'left',
});

/**
 * The reservation: mailbox row lock, daily-cap count, minimum gap, and a fresh look at mailbox
 * status, exit on reply and suppression; the message row, its pixel and the variant assignment are
 * written only when all pass (message_row_id NULL otherwise).
 */
export const RESERVE_OUTBOUND_MESSAGE = sqlFunction({
  name: 'app.reserve_outbound_message',
  params: [
    ['enrollment', 'uuid'],
    ['step', 'uuid'],
    ['variant', 'uuid', 'nullable'],
    ['mailbox', 'uuid'],
    ['message_id_header', 'text'],
    ['in_reply_to', 'text', 'nullable'],
    ['references', 'text[]'],
    ['from', 'citext'],
    ['to', 'citext'],
    ['subject', 'text'],
    ['body_text', 'text'],
    ['body_html', 'text'],
    ['unsubscribe_token', 'text'],
    ['now', 'timestamp with time zone'],
    ['pixel_token', 'text', 'nullable'],
    ['day_start', 'timestamp with time zone'],
    ['day_end', 'timestamp with time zone'],
    ['exit_on_reply', 'boolean'],
    ['store_assignment', 'boolean'],
  ],
  returns: {
    table: [
      'enrollment_status',
      'campaign_status',
      'mailbox_status',
      'daily_limit',
      'n',
      'last',
      'replied',
      'suppression',
      'message_row_id',
    ],
  },
  // Concurrent batches lock mailboxes, then enrollments, in the same order.
  orderBy: ['mailbox', 'enrollment'],
});

/**
 * Sent: task completed with the lease check of complete(), message marked sent, daily stat bumped,
 * enrollment advanced and — unless a reply or unsubscribe stopped it while SMTP was busy — the
 * next step enqueued or the enrollment completed. Returns 1, or 0 when the lease was lost.
 */
export const RECORD_SENT = sqlFunction({
  name: 'app.record_sent',
  params: [
    ['organisation', 'uuid'],
    ['task', 'uuid'],
    ['worker', 'text'],
    ['now', 'timestamp with time zone'],
    ['message', 'uuid'],
    ['response', 'text'],
    ['campaign', 'uuid'],
    ['variant', 'uuid', 'nullable'],
    ['enrollment', 'uuid'],
    ['step_order', 'integer'],
    ['next_step', 'uuid', 'nullable'],
    ['run_at', 'timestamp with time zone', 'nullable'],
    ['priority', 'smallint'],
    ['dedupe_key', 'text', 'nullable'],
  ],
  returns: { scalar: 'completed' },
  // The daily stat row (campaign, variant) is the lock batches share.
  orderBy: ['campaign', 'variant NULLS FIRST', 'enrollment'],
});

export type StateArgs = ArgsOf<typeof SEND_STEP_STATE.params>;
export type ReserveArgs = ArgsOf<typeof RESERVE_OUTBOUND_MESSAGE.params>;
export type RecordArgs = ArgsOf<typeof RECORD_SENT.params>;

export interface MessageRow {
  id: string;
  status: MessageStatus;
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

export interface NextStep {
  id: string;
  step_order: number;
  delay_days: number;
}

export interface VariantRow {
  id: string;
  label: string;
  weight: number;
  subject_template: string | null;
  body_template: string;
}

/** A row of app.send_step_state. */
export interface SendStateRow {
  id: string;
  status: EnrollmentStatus;
  position_id: string;
  campaign_id: string;
  campaign_status: CampaignStatus;
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

/** A row of app.reserve_outbound_message. */
export interface ReserveResult {
  enrollment_status: EnrollmentStatus | null;
  campaign_status: CampaignStatus | null;
  mailbox_status: MailboxStatus | null;
  daily_limit: number;
  n: number;
  last: Date | null;
  replied: boolean;
  suppression: string | null;
  message_row_id: string | null;
}
