import { answeredMessageIds, contentMessageId, messageIdsIn, normaliseMessageId } from './message-id.js';
import type { Queryable } from './stats.js';
import { stopEnrollment } from './stop.js';
import { mailtoUnsubscribeToken, unsubscribeByToken } from './unsubscribe.js';

/**
 * An inbound message applied to the outreach domain, once for both doors: the provider webhook
 * (apps/ingest-api POST /v1/inbound) and the worker's IMAP poller. Each door classifies the
 * message and finds the organisation (and, when it knows it, the mailbox the message came to);
 * this normalises its ids, matches it to our outbound message, stores it and stops the enrollment
 * through stopEnrollment (reply → replied; permanent bounce of the address we wrote to → bounced and
 * that address suppressed; automatic replies change nothing). A recipient's mailto unsubscribe (its
 * subject names one of our unsubscribe tokens) is an unsubscribe, as by the one-click link.
 */

export type InboundKind = 'reply' | 'auto_reply' | 'bounce';

export interface InboundRecord {
  kind: InboundKind;
  /**
   * The mailbox the message was read from or addressed to: only that mailbox's sent messages
   * match. null/undefined: any mailbox of the organisation (the webhook, when `to` names none).
   */
  mailboxId?: string | null;
  /** The inbound message's own Message-ID, as given (normalised here; derived from content when unusable). */
  messageId?: string | null;
  inReplyTo?: string | null;
  /** Candidate Message-IDs of our outbound message: References, a DSN's returned message (header values). */
  references: readonly string[];
  from?: string | null;
  to?: string | null;
  subject?: string | null;
  text?: string | null;
  /**
   * For a bounce: the recipients the DSN reports as failed (Action: failed, 5.x.x) and their status
   * (e.g. 5.1.1, kept in the outbound message's error). The DSN bounces our message only when they
   * include the address it went to (none named: it does), and matches our latest message to them
   * when no returned id matches.
   */
  failedRecipients?: readonly { address: string; status?: string }[];
}

export interface InboundResult {
  matched: boolean;
  /** `unsubscribe`: the mail was a mailto unsubscribe (List-Unsubscribe) naming one of our messages. */
  kind: InboundKind | 'unsubscribe';
  enrollmentId?: string;
  duplicate?: boolean;
}

interface Original {
  id: string;
  enrollment_id: string | null;
  to_address: string;
  campaign_id: string | null;
  mailbox_id: string | null;
  header: string;
}

const EMAIL = /^[^@\s\0]+@[^@\s\0]+\.[^@\s\0]+$/;

/** PostgreSQL text cannot hold NUL: one in a body must not fail the insert (and block a poll). */
const storable = (value: string | null | undefined, max: number) =>
  value?.replace(/\0/g, '').slice(0, max) ?? null;

const ORIGINAL_COLUMNS = `m.id, m.enrollment_id, m.to_address::text AS to_address, e.campaign_id, m.mailbox_id,
     m.message_id_header AS header FROM outreach.messages m
     LEFT JOIN outreach.campaign_enrollments e ON e.organisation_id = m.organisation_id AND e.id = m.enrollment_id`;

/**
 * Our outbound message the ids name (answeredMessageIds: the nearest parent first), in the mailbox
 * when given. null: they name messages of the organisation, none sent from this mailbox — a copy
 * of a reply to another mailbox's thread (a Cc, a forward), which that mailbox's own copy applies;
 * it must not fall back to the sender's thread here. undefined: they name none of ours.
 */
async function originalById(
  client: Queryable,
  ids: string[],
  mailboxId: string | null,
): Promise<Original | null | undefined> {
  if (ids.length === 0) return undefined;
  // Message-IDs are unique per organisation: at most one row per id, whichever mailbox sent it.
  const { rows } = await client.query<Original>(
    `SELECT ${ORIGINAL_COLUMNS}
     WHERE m.message_id_header = ANY ($1::text[]) AND m.direction = 'outbound'`,
    [ids],
  );
  if (rows.length === 0) return undefined;
  const mine = rows.filter((r) => mailboxId === null || r.mailbox_id === mailboxId);
  for (const id of ids) {
    const found = mine.find((r) => r.header === id);
    if (found) return found;
  }
  return null;
}

/**
 * When no id matches: our latest message from that mailbox to an address the inbound message
 * answers for (answeringAddresses). Only with a mailbox: organisation-wide, an address enrolled in
 * two mailboxes' campaigns would answer whichever was sent last. It matches the address each
 * message went to (a position's address may have changed since), through the index of migration
 * 1000: most mail in a real inbox names none of our ids, and each one asks this.
 */
async function originalByAddress(client: Queryable, addresses: string[], mailboxId: string | null) {
  if (!mailboxId || addresses.length === 0) return undefined;
  const { rows } = await client.query<Original>(
    `SELECT ${ORIGINAL_COLUMNS}
     WHERE m.id = ANY ((SELECT app.outbound_message_ids_to($2::text[], $1::uuid))::uuid[])
       AND m.status IN ('sent', 'bounced')
     ORDER BY m.sent_at DESC NULLS LAST, m.created_at DESC LIMIT 1`,
    [mailboxId, addresses],
  );
  return rows[0];
}

/** The failed recipients a DSN names (valid addresses, lower case, deduplicated). */
function failedAddresses(mail: InboundRecord): string[] {
  if (mail.kind !== 'bounce') return [];
  return [
    ...new Set(
      (mail.failedRecipients ?? []).map((r) => r.address.trim().toLowerCase()).filter((a) => EMAIL.test(a)),
    ),
  ];
}

const ADDRESS = /[^\s<>"',;:]+@[^\s<>"',;:]+\.[^\s<>"',;:]+/;

/**
 * The address a From or To header value names first (`addr@host`, `Name <addr@host>`, a list),
 * lower case: the one inside angle brackets when there is one (a display name may hold an @).
 */
export function headerAddress(value: string | null | undefined): string | undefined {
  const address = (value?.match(/<([^<>\s]+)>/)?.[1] ?? value?.match(ADDRESS)?.[0])?.toLowerCase();
  return address && EMAIL.test(address) ? address : undefined;
}

/**
 * Whose message from the mailbox an inbound message answers when it names none of our ids: a
 * DSN's failed recipients; otherwise its sender — a reply whose client dropped In-Reply-To and
 * References, one to a Message-ID the provider rewrote on submission, or a new mail from the
 * prospect, all of which stop the sequence as a reply does.
 */
function answeringAddresses(mail: InboundRecord, failed: string[]): string[] {
  if (mail.kind === 'bounce') return failed;
  const sender = headerAddress(mail.from);
  return sender ? [sender] : [];
}

/**
 * Whether a DSN bounces our message: it reports the address the message went to as failed (or
 * names no recipient at all). A DSN about someone else — an alias expansion, a forward, a
 * recipient our prospect's server added — is only an automatic message to us.
 */
function bouncesOriginal(original: Original, failed: string[]): boolean {
  return failed.length === 0 || failed.includes(original.to_address.toLowerCase());
}

/** Applies one inbound message in the client's organisation. Idempotent per Message-ID. */
export async function applyInbound(
  client: Queryable,
  mail: InboundRecord,
  now: Date,
): Promise<InboundResult> {
  const token = mail.kind === 'bounce' ? undefined : mailtoUnsubscribeToken(mail.subject);
  if (token && (await unsubscribeByToken(client, token, now))) return { matched: true, kind: 'unsubscribe' };
  const mailboxId = mail.mailboxId ?? null;
  const inReplyTo = normaliseMessageId(mail.inReplyTo) ?? null;
  const references = messageIdsIn(mail.references);
  const failed = failedAddresses(mail);
  const byId = await originalById(client, answeredMessageIds(inReplyTo, mail.references), mailboxId);
  const original =
    byId === undefined ? await originalByAddress(client, answeringAddresses(mail, failed), mailboxId) : byId;
  if (!original) return { matched: false, kind: mail.kind };
  const kind = mail.kind === 'bounce' && !bouncesOriginal(original, failed) ? 'auto_reply' : mail.kind;
  const messageId =
    normaliseMessageId(mail.messageId) ??
    contentMessageId([mail.from, mail.to, mail.subject, inReplyTo, references, mail.text]);
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
      inReplyTo,
      references,
      headerAddress(mail.from) ?? null,
      headerAddress(mail.to) ?? null,
      storable(mail.subject, 1000),
      storable(mail.text, 100_000),
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
  await applyBounce(client, original, bounceStatusOf(mail, original), now);
  return result;
}

/** The status the DSN gives the address we wrote to (the first failed one's when it names none). */
function bounceStatusOf(mail: InboundRecord, original: Original): string | undefined {
  const to = original.to_address.toLowerCase();
  const failed = mail.failedRecipients ?? [];
  return (failed.find((r) => r.address.trim().toLowerCase() === to) ?? failed[0])?.status;
}

/**
 * A permanent bounce of the address we wrote to (bouncesOriginal): the message bounced, the
 * enrollment stopped and that address suppressed. Other failed recipients the DSN lists are no
 * one we wrote this message to: they are not suppressed.
 */
async function applyBounce(client: Queryable, original: Original, status: string | undefined, now: Date) {
  await client.query(
    `UPDATE outreach.messages SET status = 'bounced', error = $2 WHERE id = $1 AND status IN ('sent', 'queued')`,
    [original.id, `bounce report: ${status ?? 'permanent failure'}`],
  );
  await stopEnrollment(client, {
    enrollmentId: original.enrollment_id!,
    email: original.to_address.toLowerCase(),
    reason: 'bounce',
    messageId: original.id,
    at: now,
  });
}
