import { applyInbound } from '@prospectflow/outreach-core';
import type { Clock } from '../clock.js';
import type { InboundSink } from '../mailboxes/poller.js';

/**
 * What the IMAP poller does with each message it reads: the same outreach-core applyInbound as the
 * API's inbound webhook (match to our outbound message, store, stop the enrollment on a reply or a
 * permanent bounce through stopEnrollment), in the mailbox's organisation and the poller's
 * transaction (the UID checkpoint commits with it).
 */
export function inboundSink(clock: Clock): InboundSink {
  return async (client, _mailbox, message) => {
    const c = message.classification;
    await applyInbound(
      client,
      {
        kind: c.kind,
        messageId: message.messageId,
        references: message.referencedIds,
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        bounceStatus: c.kind === 'bounce' ? c.recipients[0]?.status : undefined,
      },
      clock.now(),
    );
  };
}
