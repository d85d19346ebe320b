/**
 * Lifecycle states the API returns and the worker moves records through. They mirror the
 * CHECK constraints of the SQL schema (db-schema's test/contracts-statuses.test.ts compares them).
 */
export const CAMPAIGN_STATUSES = ['draft', 'active', 'paused', 'completed', 'archived'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export const ENROLLMENT_STATUSES = [
  'active',
  'paused',
  'completed',
  'replied',
  'bounced',
  'unsubscribed',
] as const;
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

export const MAILBOX_STATUSES = ['active', 'paused', 'disabled', 'error'] as const;
export type MailboxStatus = (typeof MAILBOX_STATUSES)[number];

export const MESSAGE_STATUSES = ['queued', 'sent', 'failed', 'bounced', 'received'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const TASK_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const IMPORT_STATUSES = ['pending', 'queued', 'running', 'succeeded', 'failed'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];
