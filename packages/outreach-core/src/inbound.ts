import { randomBytes } from 'node:crypto';
import type { Queryable } from './stats.js';
import { stopEnrollment } from './stop.js';

/**
 * An inbound message applied to the outreach domain, once for both doors: the provider webhook
 * (apps/ingest-api POST /v1/inbound) and the worker's IMAP poller. Each door classifies the
 * message and finds the organisation; this matches it to our outbound message, stores it and
 * stops the enrollment through stopEnrollment (reply → replied; permanent bounce → bounced and
 * suppressed; automatic replies change nothing).
 */

export type InboundKind = 'reply' | 'auto_reply' | 'bounce';

export interface InboundRecord {
  kind: InboundKind;
  /** The inbound message's own Message-ID (one is made up when it has none). */
  messageId?: string;
  inReplyTo?: string | null;
  /** Candidate Message-IDs of our outbound message: In-Reply-To, References, a DSN's returned message. */
  references: readonly string[];
  from?: string | null;
  to?: string | null;
  subject?: string | null;
  text?: string | null;
  /** For a bounce: the DSN status (e.g. 5.1.1), kept in the outbound message's error. */
  bounceStatus?: string;
}

export interface InboundResult {
  matched: boolean;
  kind: InboundKind;
  enrollmentId?: string;
  duplicate?: boolean;
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Applies one inbound message in the client's organisation. Idempotent per Message-ID. */
export async function applyInbound(
  client: Queryable,
  mail: InboundRecord,
  now: Date,
): Promise<InboundResult> {
  const { kind } = mail;
  const candidates = [...new Set([mail.inReplyTo, ...mail.references].filter((x): x is string => !!x))].slice(
    0,
    50,
  );
  if (candidates.length === 0) return { matched: false, kind };
  const original = (
    await client.query<{
      id: string;
      enrollment_id: string | null;
      to_address: string;
      campaign_id: string | null;
    }>(
      `SELECT m.id, m.enrollment_id, m.to_address::text AS to_address, e.campaign_id FROM outreach.messages m
       LEFT JOIN outreach.campaign_enrollments e ON e.organisation_id = m.organisation_id AND e.id = m.enrollment_id
       WHERE m.message_id_header = ANY ($1::text[]) AND m.direction = 'outbound' ORDER BY m.created_at DESC LIMIT 1`,
      [candidates],
    )
  ).rows[0];
  if (!original) return { matched: false, kind };
  const messageId = mail.messageId ?? `<inbound.${randomBytes(12).toString('hex')}@prospectflow.invalid>`;
  const inserted = await client.query(
    `INSERT INTO outreach.messages (enrollment_id, step_id, mailbox_id, direction, status, inbound_kind, message_id_header,
         in_reply_to, references_headers, from_address, to_address, subject, body_text, received_at)
     SELECT enrollment_id, step_id, mailbox_id, 'inbound', 'received', $2, $3, $4, $5, $6, $7, $8, $9, $10
     FROM outreach.messages WHERE id = $1
     ON CONFLICT (organisation_id, message_id_header) DO NOTHING RETURNING id`,
    [
      original.id,
      kind,
      messageId,
      mail.inReplyTo ?? null,
      mail.references,
      mail.from && EMAIL.test(mail.from) ? mail.from : null,
      mail.to && EMAIL.test(mail.to) ? mail.to : null,
      mail.subject?.slice(0, 1000) ?? null,
      mail.text?.slice(0, 100_000) ?? null,
      now,
    ],
  );
  const result: InboundResult = { matched: true, kind, enrollmentId: original.enrollment_id ?? undefined };
  if (inserted.rowCount === 0) return { ...result, duplicate: true };
  if (!original.enrollment_id || !original.campaign_id || kind === 'auto_reply') return result;
  if (kind === 'reply') {
    await stopEnrollment(client, {
      enrollmentId: original.enrollment_id,
      reason: 'reply',
      messageId: original.id,
      at: now,
    });
    return result;
  }
  await client.query(
    `UPDATE outreach.messages SET status = 'bounced', error = $2 WHERE id = $1 AND status IN ('sent', 'queued')`,
    [original.id, `bounce report: ${mail.bounceStatus ?? 'permanent failure'}`],
  );
  await stopEnrollment(client, {
    enrollmentId: original.enrollment_id,
    email: original.to_address,
    reason: 'bounce',
    messageId: original.id,
    at: now,
  });
  return result;
}
