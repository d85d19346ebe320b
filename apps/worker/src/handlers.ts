import { checkSendingDomains } from './mailboxes/domain-checks.js';
import { MailboxSender } from './mailboxes/sender.js';
import type { MailServices } from './mailboxes/services.js';
import { verifyMailbox } from './mailboxes/verify.js';
import type { Mailer } from './outreach/mailer.js';
import { scheduleEnrollment } from './outreach/schedule-enrollment.js';
import { type SendStepDeps, sendStep } from './outreach/send-step.js';
import type { TaskHandlers } from './queue/types.js';
import { applyRetention, type RetentionDeps } from './retention/apply-retention.js';

const DEFAULT_RETENTION: RetentionDeps = { batchSize: 1000, maxBatches: 100 };

/** The task types this worker runs. */
export function outreachHandlers(
  deps: Omit<SendStepDeps, 'sender'> & {
    /** The platform relay (SMTP_URL): only for mailboxes of DNS-proved domains. */
    mailer: Mailer;
    mail: MailServices;
    retention?: RetentionDeps;
  },
): TaskHandlers {
  return {
    schedule_enrollment: scheduleEnrollment,
    send_step: sendStep({ ...deps, sender: new MailboxSender(deps.mail, deps.mailer) }),
    apply_retention: applyRetention(deps.retention ?? DEFAULT_RETENTION),
    noop: async () => {},
    verify_mailbox: verifyMailbox({
      box: deps.mail.box,
      access: deps.mail.access,
      roundTripTimeoutMs: deps.mail.settings.verifyTimeoutMs,
    }),
    check_sending_domains: checkSendingDomains({ servers: deps.mail.settings.dnsServers }),
  };
}
