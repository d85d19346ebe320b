import {
  classifyInbound as classify,
  type DeliveryReport,
  type InboundClass,
  singleRecipientReport,
} from '@prospectflow/mailboxes';
import {
  answeredMessageIds,
  applyInbound,
  headerAddress,
  type InboundKind,
  type InboundResult,
} from '@prospectflow/outreach-core';
import { type TenantClient, withTenant } from '@prospectflow/tenant-context';
import type pg from 'pg';
import { type Static, Type } from 'typebox';

export type { InboundKind, InboundResult };

/**
 * What a mail provider's inbound webhook posts (already parsed MIME); the route validates it, types
 * as sent. Deliberately open (no `additionalProperties: false`): a provider's extra fields are
 * accepted and ignored, so read only the fields declared here.
 */
export const InboundMail = Type.Object({
  messageId: Type.Optional(Type.String({ maxLength: 1000 })),
  inReplyTo: Type.Optional(Type.String({ maxLength: 2000 })),
  references: Type.Optional(Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 100 })),
  from: Type.Optional(Type.String({ maxLength: 320 })),
  /** The address the mail came to: when it is one of the organisation's mailboxes, only that mailbox's sent messages match. */
  to: Type.Optional(
    Type.String({
      maxLength: 320,
      description:
        "The address the mail came to. When it is one of the organisation's mailboxes, only that mailbox's sent messages match.",
    }),
  ),
  subject: Type.Optional(Type.String({ maxLength: 2000 })),
  text: Type.Optional(Type.String({ maxLength: 200_000 })),
  /**
   * The mail's headers. `Content-Type: multipart/report; report-type=delivery-status` (or
   * `global-delivery-status`) marks a bounce report whose fields are read from `text` when neither
   * `deliveryStatus` nor `dsn` is given.
   */
  headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  /**
   * For bounce reports: the `message/delivery-status` part (RFC 3464) verbatim, read by the same
   * parser as the IMAP poller's (every recipient block, Original-Recipient included).
   */
  deliveryStatus: Type.Optional(
    Type.String({
      maxLength: 100_000,
      description: "A bounce report's message/delivery-status part (RFC 3464), verbatim.",
    }),
  ),
  /** For bounce reports: the delivery-status part (RFC 3464) fields, if the provider splits them (one recipient). */
  dsn: Type.Optional(
    Type.Object({
      action: Type.Optional(Type.String()),
      status: Type.Optional(Type.String()),
      recipient: Type.Optional(Type.String()),
    }),
  ),
});
export type InboundMail = Static<typeof InboundMail>;

/** The `dsn` fields a provider split out of the report (one recipient), as a report. */
function splitReport(mail: InboundMail): DeliveryReport | undefined {
  const { action, status, recipient } = mail.dsn ?? {};
  return action && status ? singleRecipientReport(action, status, recipient) : undefined;
}

/**
 * The whole classification, with the one classifyInbound the IMAP poller uses too: the report is
 * `deliveryStatus` (the part itself), else the `dsn` fields; without either, classifyInbound reads
 * delivery-status fields from `text` only when the headers' Content-Type says the mail is a
 * report or the mail is a mail system's (null Return-Path, MAILER-DAEMON/postmaster, a bounce's
 * subject, no `from`) — a person quoting a bounce in a reply is still a reply.
 */
export function classifyInboundMail(mail: InboundMail): InboundClass {
  const report = mail.deliveryStatus === undefined ? splitReport(mail) : undefined;
  return classify({
    headers: mail.headers ?? {},
    subject: mail.subject,
    from: mail.from ?? '',
    text: mail.text,
    ...(mail.deliveryStatus !== undefined ? { deliveryStatus: mail.deliveryStatus } : {}),
    ...(report ? { report } : {}),
  });
}

/** Bounce report (DSN, RFC 3464) with a permanent failure, automatic message (RFC 3834 and common markers), or a reply. */
export function classifyInbound(mail: InboundMail): InboundKind {
  return classifyInboundMail(mail).kind;
}

/**
 * The mailbox the mail was addressed to, when `to` names one of the organisation's. That mailbox
 * is then the only one whose sent messages match (what the poller does for the mailbox it reads);
 * a `to` naming none (a forwarding address, a provider's routing address) keeps the match
 * organisation-wide, as the webhook always did.
 */
async function addressedMailbox(client: TenantClient, to: string | undefined): Promise<string | null> {
  const address = headerAddress(to);
  if (!address) return null;
  const { rows } = await client.query<{ id: string }>(
    'SELECT id FROM outreach.mailboxes WHERE from_address = $1::citext',
    [address],
  );
  return rows[0]?.id ?? null;
}

/**
 * The organisation a mail belongs to, from the narrow SECURITY DEFINER resolvers: the one that
 * sent a Message-ID the mail names, else the one whose verified mailbox `to` names (a mail naming
 * none of our ids; no organisation when several have verified that address).
 */
async function organisationOf(pool: pg.Pool, mail: InboundMail): Promise<string | null> {
  // In the order the mail answers them (applyInbound's): the first of ours decides.
  const candidates = answeredMessageIds(mail.inReplyTo, mail.references ?? []);
  if (candidates.length > 0) {
    const { rows } = await pool.query<{ org: string | null }>(
      'SELECT app.organisation_for_message_ids($1::text[]) AS org',
      [candidates],
    );
    if (rows[0]?.org) return rows[0].org;
  }
  const address = headerAddress(mail.to);
  if (!address) return null;
  const { rows } = await pool.query<{ org: string | null }>(
    'SELECT app.organisation_for_mailbox_address($1) AS org',
    [address],
  );
  return rows[0]?.org ?? null;
}

/**
 * Matches an inbound mail to our outbound message with outreach-core's applyInbound (the worker's
 * IMAP poller uses the same) under the mail's organisation: by In-Reply-To / References, else,
 * within the mailbox `to` names, the latest message to the sender (a DSN: to its failed
 * recipients); ids normalised, stored as an inbound message, reply → replied, permanent bounce →
 * bounced + the DSN's failed recipients suppressed, through stopEnrollment. Idempotent per
 * Message-ID.
 */
export async function processInbound(
  pool: pg.Pool,
  mail: InboundMail,
  now = new Date(),
): Promise<InboundResult> {
  const classification = classifyInboundMail(mail);
  const { kind } = classification;
  const org = await organisationOf(pool, mail);
  if (!org) return { matched: false, kind };
  return await withTenant(pool, { organisationId: org }, async (client) =>
    applyInbound(
      client,
      {
        kind,
        mailboxId: await addressedMailbox(client, mail.to),
        messageId: mail.messageId,
        inReplyTo: mail.inReplyTo,
        references: mail.references ?? [],
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        ...(classification.kind === 'bounce' ? { failedRecipients: classification.recipients } : {}),
      },
      now,
    ),
  );
}
