import { describeFailure, secretsFailure } from '../../mailboxes/failures.js';
import type { MailboxSender } from '../../mailboxes/sender.js';
import { RetryableError } from '../../queue/errors.js';
import type { TaskContext } from '../../queue/types.js';
import type { Reserved } from './prepare.js';

/**
 * Closes the resend window: before sending again a message an earlier attempt reserved (and may
 * have handed to SMTP before the worker died), look for its Message-ID in the mailbox's Sent
 * folder. Found: the response to record it as sent with. Not found (or a relay mailbox, which has
 * no folder to look in): undefined, send it. IMAP failing: try later — except on the last attempt,
 * where a possible duplicate is better than a message never sent. Credentials that do not open are
 * thrown as they are: the send could not open them either, and send-step classifies them.
 */
export async function foundInSent(
  ctx: TaskContext,
  sender: MailboxSender,
  prepared: Reserved,
): Promise<string | undefined> {
  try {
    const check = await sender.findSent(ctx.pool, prepared.mailbox, prepared.mail.messageId);
    if (!check?.found) return undefined;
    ctx.log.info(
      { mailboxId: prepared.mailbox.id, messageRowId: prepared.messageRowId, folder: check.folder },
      'earlier attempt was accepted (found in Sent): recorded, not sent again',
    );
    return `not resent: found in the mailbox's ${check.folder} folder`;
  } catch (error) {
    if (secretsFailure(error)) throw error;
    const failure = describeFailure(error);
    if (ctx.task.attempts >= ctx.task.max_attempts) {
      ctx.log.warn(
        { mailboxId: prepared.mailbox.id, kind: failure.kind },
        'Sent folder unreadable: sending again',
      );
      return undefined;
    }
    throw new RetryableError(`could not search the Sent folder (${failure.kind}): ${failure.answer}`);
  }
}
