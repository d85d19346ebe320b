import { classifyInbound as classify } from '@prospectflow/mailboxes';
import { applyInbound, type InboundKind, type InboundResult } from '@prospectflow/outreach-core';
import { withTenant } from '@prospectflow/tenant-context';
import type pg from 'pg';
import { type Static, Type } from 'typebox';

export type { InboundKind, InboundResult };

/** What a mail provider's inbound webhook posts (already parsed MIME); the route validates it. */
export const InboundMail = Type.Object({
  messageId: Type.Optional(Type.String({ maxLength: 1000 })),
  inReplyTo: Type.Optional(Type.String({ maxLength: 2000 })),
  references: Type.Optional(Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 100 })),
  from: Type.Optional(Type.String({ maxLength: 320 })),
  to: Type.Optional(Type.String({ maxLength: 320 })),
  subject: Type.Optional(Type.String({ maxLength: 2000 })),
  text: Type.Optional(Type.String({ maxLength: 200_000 })),
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** For bounce reports: the delivery-status part (RFC 3464) fields, if the provider splits them. */
  dsn: Type.Optional(
    Type.Object({
      action: Type.Optional(Type.String()),
      status: Type.Optional(Type.String()),
      recipient: Type.Optional(Type.String()),
    }),
  ),
});
export type InboundMail = Static<typeof InboundMail>;

const MESSAGE_ID = /<[^<>\s]+>/g;

function ids(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(' ') : (value ?? '');
  return joined.match(MESSAGE_ID) ?? [];
}

/**
 * The webhook's message in the terms of @prospectflow/mailboxes' classifyInbound, the one
 * classification the IMAP poller uses too. A provider gives the DSN either as `dsn` fields or
 * inside the text (RFC 3464 fields); both become a delivery-status part.
 */
function deliveryStatusOf(mail: InboundMail): string | undefined {
  const text = mail.text ?? '';
  const action = mail.dsn?.action ?? text.match(/^Action:\s*(\S+)/im)?.[1];
  const status = mail.dsn?.status ?? text.match(/^Status:\s*(\d\.\d+\.\d+)/im)?.[1];
  if (!action || !status) return undefined;
  const recipient =
    mail.dsn?.recipient ??
    text.match(/^Final-Recipient:\s*(.+)$/im)?.[1] ??
    'rfc822; unknown@unknown.invalid';
  const typed = recipient.includes(';') ? recipient : `rfc822; ${recipient}`;
  return `Reporting-MTA: dns; inbound-webhook\n\nFinal-Recipient: ${typed}\nAction: ${action}\nStatus: ${status}\n`;
}

/** Bounce report (DSN, RFC 3464) with a permanent failure, automatic message (RFC 3834 and common markers), or a reply. */
export function classifyInbound(mail: InboundMail): InboundKind {
  const deliveryStatus = deliveryStatusOf(mail);
  return classify({
    headers: mail.headers ?? {},
    subject: mail.subject,
    ...(deliveryStatus !== undefined ? { deliveryStatus } : {}),
  }).kind;
}

/**
 * Matches an inbound mail to our outbound message by In-Reply-To / References: the organisation
 * comes from the narrow SECURITY DEFINER resolver, the rest is outreach-core's applyInbound (the
 * worker's IMAP poller uses the same): stored as an inbound message, reply → replied, permanent
 * bounce → bounced + suppressed, through stopEnrollment. Idempotent per Message-ID.
 */
export async function processInbound(
  pool: pg.Pool,
  mail: InboundMail,
  now = new Date(),
): Promise<InboundResult> {
  const kind = classifyInbound(mail);
  const candidates = [...new Set([...ids(mail.inReplyTo), ...ids(mail.references)])].slice(0, 50);
  if (candidates.length === 0) return { matched: false, kind };
  const { rows } = await pool.query<{ org: string | null }>(
    'SELECT app.organisation_for_message_ids($1::text[]) AS org',
    [candidates],
  );
  const org = rows[0]?.org;
  if (!org) return { matched: false, kind };
  return await withTenant(pool, { organisationId: org }, (client) =>
    applyInbound(
      client,
      {
        kind,
        messageId: ids(mail.messageId)[0],
        inReplyTo: ids(mail.inReplyTo)[0] ?? null,
        references: ids(mail.references),
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        bounceStatus: mail.dsn?.status,
      },
      now,
    ),
  );
}
