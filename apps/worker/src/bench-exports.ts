/**
 * What bench/ (a workspace of its own) uses of the worker, exported for it alone: bench/ imports
 * packages only through their exports. Run under tsx (the export points at TypeScript source).
 */

export { mailboxSecretBinding } from '@prospectflow/mailboxes';
export { ManualClock, systemClock } from './clock.js';
export { outreachHandlers } from './handlers.js';
export { createLogger } from './logger.js';
export { loadAccount } from './mailboxes/account.js';
export { imapOptions } from './mailboxes/connect.js';
export { MailboxPoller } from './mailboxes/poller.js';
export { findInSent } from './mailboxes/sent-folder.js';
export { createMailServices } from './mailboxes/services.js';
export { createSmtpMailer } from './outreach/mailer.js';
export { inTenant } from './queue/sql.js';
export { Worker } from './queue/worker.js';
export { applyRetention } from './retention/apply-retention.js';
export { enqueueRetentionTasks } from './schedules.js';
