import { applyInbound } from '@prospectflow/outreach-core';
import type { Clock } from '../clock.js';
import type { InboundSink } from '../mailboxes/poller.js';

/**
 * What the IMAP poller does with each message it reads: the same outreach-core applyInbound as the
 * API's inbound webhook (normalise the ids, match to our outbound message, store, stop the
 * enrollment on a reply or a permanent bounce through stopEnrollment), in the mailbox's
 * organisation and the poller's transaction (the UID checkpoint commits with it). Only messages
 * sent from the mailbox read match: a reply landing in another mailbox of the organisation is not
 * an answer to this one's thread.
 */
export function inboundSink(clock: Clock): InboundSink {
  return async (client, mailbox, message) => {
    const c = message.classification;
    await applyInbound(
      client,
      {
        kind: c.kind,
        mailboxId: mailbox.id,
        messageId: message.messageId,
        inReplyTo: message.inReplyTo,
        references: message.referencedIds,
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        ...(c.kind === 'bounce' ? { failedRecipients: c.recipients } : {}),
      },
      clock.now(),
    );
  };
}
