import {
  classifyInbound,
  DELIVERY_STATUS_TYPES,
  type InboundClass,
  isDeliveryReport,
  RETURNED_MESSAGE_TYPES,
  returnedMessageId,
} from '@prospectflow/mailboxes';
import { messageIdsIn } from '@prospectflow/outreach-core';
import type { FetchMessageObject, ImapFlow, MessageStructureObject } from 'imapflow';
import { decodePart } from './body.js';
import { parseHeaders } from './headers.js';
import { VERIFICATION_HEADER } from './verify.js';

/** How many References ids a message keeps (the store's and the match's bound). */
const REFERENCES_KEPT = 50;

/** One message read from a mailbox's INBOX, classified; nothing else of the inbox is kept. */
export interface InboundMessage {
  uid: number;
  messageId: string | undefined;
  /** The In-Reply-To header's Message-ID: the message this one answers. */
  inReplyTo: string | undefined;
  /** Message-IDs from References, in order (and, for a delivery report, the returned message's). */
  referencedIds: string[];
  from: string | undefined;
  to: string | undefined;
  subject: string | undefined;
  text: string | undefined;
  classification: InboundClass;
}

/** One batch read: the messages, and those whose content could not be made sense of. */
export interface InboxBatch {
  messages: InboundMessage[];
  unreadable: { uid: number; error: string }[];
}

export interface Checkpoint {
  uidValidity: bigint;
  lastUid: number;
}

/** UIDs read and applied per transaction: the checkpoint commits after each batch. */
export const BATCH_SIZE = 200;
/** A body part larger than this is not fetched (a reply's text is kept to 100,000 characters). */
const MAX_PART_BYTES = 1024 * 1024;

const HEADERS = [
  'auto-submitted',
  'x-autoreply',
  'x-autorespond',
  'x-autoresponse',
  'precedence',
  'x-precedence',
  'list-id',
  'list-unsubscribe',
  'return-path',
  'content-type',
  'references',
  VERIFICATION_HEADER.toLowerCase(),
];

function findParts(node: MessageStructureObject | undefined, out: MessageStructureObject[] = []) {
  if (!node) return out;
  out.push(node);
  for (const child of node.childNodes ?? []) findParts(child, out);
  return out;
}

/** A structure node's Content-Type as isDeliveryReport reads it. */
const contentTypeOf = (node: MessageStructureObject) =>
  `${node.type}; report-type=${node.parameters?.['report-type'] ?? ''}`;

/**
 * The message's delivery report (isDeliveryReport): the message itself, or a report a gateway
 * wrapped in a multipart. Never one inside an attached message (message/*): a person forwarding
 * a bounce, or attaching one of our mails, does not send a report.
 */
function reportNode(node: MessageStructureObject | undefined): MessageStructureObject | undefined {
  if (!node || node.type.startsWith('message/')) return undefined;
  if (isDeliveryReport(contentTypeOf(node))) return node;
  for (const child of node.childNodes ?? []) {
    const found = reportNode(child);
    if (found) return found;
  }
  return undefined;
}

/** The parts a message's classification and text need, under the size bound. */
function partsToFetch(m: FetchMessageObject) {
  // A single-part message's body is part 1 (its structure node carries no part number).
  const root = m.bodyStructure;
  const parts = findParts(root && !root.childNodes && !root.part ? { ...root, part: '1' } : root);
  // A report's own parts (RFC 3462): its delivery-status and the returned message or headers.
  const report = reportNode(root);
  const reportPart = (types: readonly string[]) => report?.childNodes?.find((p) => types.includes(p.type));
  const dsn = reportPart(DELIVERY_STATUS_TYPES);
  const returned = reportPart(RETURNED_MESSAGE_TYPES);
  const text = parts.find((p) => p.type === 'text/plain');
  const fetchable = (p: MessageStructureObject | undefined) =>
    p?.part && (p.size ?? 0) <= MAX_PART_BYTES ? p : undefined;
  return { report, dsn: fetchable(dsn), returned, returnedPart: fetchable(returned), text: fetchable(text) };
}

/** A UID set for a command: consecutive UIDs as ranges, so 200 UIDs stay a short line. */
export function uidSet(uids: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < uids.length; i += 1) {
    let j = i;
    while (j + 1 < uids.length && uids[j + 1] === uids[j]! + 1) j += 1;
    out.push(i === j ? String(uids[i]) : `${uids[i]}:${uids[j]}`);
    i = j;
  }
  return out.join(',');
}

/**
 * Where reading starts (the last UID already handled). With a checkpoint of the same UIDVALIDITY,
 * the checkpoint. Otherwise (the mailbox's first poll, or its INBOX was recreated on the server)
 * the INBOX may hold years of mail that cannot answer anything we sent: reading starts before the
 * first message received since `since` (IMAP SEARCH SINCE, a day's granularity), or after the
 * newest one when none is that recent.
 */
export async function startAfter(
  client: ImapFlow,
  checkpoint: Checkpoint | undefined,
  since: Date,
): Promise<number> {
  const mailbox = client.mailbox;
  if (!mailbox) throw new Error('no mailbox selected');
  const uidValidity = BigInt(mailbox.uidValidity);
  if (checkpoint && checkpoint.uidValidity === uidValidity) return checkpoint.lastUid;
  if (mailbox.exists === 0) return Math.max(0, Number(mailbox.uidNext ?? 1) - 1);
  const recent = (await client.search({ since }, { uid: true })) || [];
  // reduce, not Math.min(...): a long-used inbox can answer more UIDs than a call takes arguments.
  if (recent.length) return recent.reduce((a, b) => Math.min(a, b)) - 1;
  if (mailbox.uidNext) return Number(mailbox.uidNext) - 1;
  const newest = (await client.search({ all: true }, { uid: true })) || [];
  return newest.reduce((a, b) => Math.max(a, b), 0);
}

/**
 * The UIDs after `after`, ascending. The SELECT's UIDNEXT tells when nothing is new, without a
 * command. `N:*` also answers the highest message when nothing is new (RFC 3501), hence the filter.
 */
export async function uidsAfter(client: ImapFlow, after: number): Promise<number[]> {
  const mailbox = client.mailbox;
  if (!mailbox) throw new Error('no mailbox selected');
  if (mailbox.exists === 0 || (mailbox.uidNext && Number(mailbox.uidNext) - 1 <= after)) return [];
  const uids = (await client.search({ uid: `${after + 1}:*` }, { uid: true })) || [];
  return uids.filter((uid) => uid > after).sort((a, b) => a - b);
}

/**
 * Reads and classifies one batch of INBOX messages by UID (call with the INBOX lock held): one
 * FETCH of envelopes, structures and headers, then one FETCH per distinct set of wanted part
 * numbers (most messages share "1" or "1.1"), not one per message. Collects first and fetches
 * parts after: commands inside a fetch loop deadlock. A UID expunged meanwhile is simply absent.
 */
export async function readMessages(
  client: ImapFlow,
  uids: number[],
  ownAddress: string,
): Promise<InboxBatch> {
  if (!uids.length) return { messages: [], unreadable: [] };
  const fetched = (
    await client.fetchAll(
      uidSet(uids),
      { uid: true, envelope: true, bodyStructure: true, headers: HEADERS },
      { uid: true },
    )
  ).sort((a, b) => a.uid - b.uid);
  const plans = fetched.map((m) => ({ m, parts: partsToFetch(m) }));
  const groups = new Map<string, number[]>();
  for (const { m, parts } of plans) {
    const numbers = [parts.dsn, parts.returnedPart, parts.text].flatMap((p) => (p?.part ? [p.part] : []));
    if (!numbers.length) continue;
    const key = numbers.join(' ');
    const group = groups.get(key);
    if (group) group.push(m.uid);
    else groups.set(key, [m.uid]);
  }
  const bodies = new Map<number, Map<string, Buffer>>();
  for (const [key, groupUids] of groups) {
    const rows = await client.fetchAll(
      uidSet(groupUids),
      { uid: true, bodyParts: key.split(' ') },
      { uid: true },
    );
    for (const row of rows) if (row.bodyParts) bodies.set(row.uid, row.bodyParts);
  }
  const batch: InboxBatch = { messages: [], unreadable: [] };
  for (const { m, parts } of plans) {
    const body = async (p: MessageStructureObject | undefined) =>
      p?.part ? await decodePart(p, bodies.get(m.uid)?.get(p.part)) : undefined;
    try {
      batch.messages.push(
        toInbound(
          m,
          parts,
          ownAddress,
          await body(parts.dsn),
          await body(parts.returnedPart),
          await body(parts.text),
        ),
      );
    } catch (error) {
      // Its content defeats the parsing: reading it again would fail again.
      batch.unreadable.push({ uid: m.uid, error: String((error as Error)?.message ?? error) });
    }
  }
  return batch;
}

function toInbound(
  m: FetchMessageObject,
  parts: ReturnType<typeof partsToFetch>,
  ownAddress: string,
  deliveryStatus: string | undefined,
  returnedText: string | undefined,
  text: string | undefined,
): InboundMessage {
  const headers = parseHeaders(m.headers);
  // Only a report's returned message is one of ours that this message is about (partsToFetch).
  const returnedId = parts.returned?.envelope?.messageId ?? returnedMessageId(returnedText);
  return {
    uid: m.uid,
    messageId: m.envelope?.messageId,
    inReplyTo: m.envelope?.inReplyTo,
    referencedIds: [
      // The last ones: the end of References is the direct parent (a long thread's root may go).
      ...messageIdsIn([headers.get('references')], Number.POSITIVE_INFINITY).slice(-REFERENCES_KEPT),
      ...(returnedId ? [returnedId] : []),
    ],
    from: m.envelope?.from?.[0]?.address?.toLowerCase(),
    to: m.envelope?.to?.[0]?.address?.toLowerCase(),
    subject: m.envelope?.subject,
    text: text?.slice(0, 100_000),
    // Ours only when the mailbox sent it to itself: anyone can add the header to a reply.
    classification:
      headers.has(VERIFICATION_HEADER.toLowerCase()) &&
      m.envelope?.from?.[0]?.address?.toLowerCase() === ownAddress.toLowerCase()
        ? { kind: 'auto_reply', reason: 'our own verification message' }
        : classifyInbound({
            headers,
            subject: m.envelope?.subject,
            from: m.envelope?.from?.[0]?.address ?? '',
            contentType: parts.report
              ? contentTypeOf(parts.report)
              : m.bodyStructure?.type
                ? contentTypeOf(m.bodyStructure)
                : undefined,
            ...(deliveryStatus !== undefined ? { deliveryStatus } : {}),
            text,
          }),
  };
}
