import type { MailboxStatus } from '@prospectflow/contracts';
import type { MailboxProvider } from '@prospectflow/mailboxes';
import type { SendingWindow } from './schedule.js';

export interface MailboxRow {
  id: string;
  from_name: string;
  from_address: string;
  daily_limit: number;
  window_start: string;
  window_end: string;
  window_days: number[];
  time_zone: string;
  min_gap_seconds: number;
  status: MailboxStatus;
  /** How the mailbox sends and whether it is proved (mailboxes/sender.ts). */
  organisation_id: string;
  provider: MailboxProvider;
  verification_status: string;
  credentials_version: number;
}

export function windowOf(mailbox: MailboxRow): SendingWindow {
  return {
    timeZone: mailbox.time_zone,
    start: mailbox.window_start,
    end: mailbox.window_end,
    days: mailbox.window_days.map(Number),
  };
}
