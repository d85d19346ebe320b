import {
  classifyInbound,
  type InboundClass,
  referencedMessageIds,
  returnedMessageId,
} from '@prospectflow/mailboxes';
import type { FetchMessageObject, ImapFlow, MessageStructureObject } from 'imapflow';
import { VERIFICATION_HEADER } from './verify.js';

/** One message read from a mailbox's INBOX, classified; nothing else of the inbox is kept. */
export interface InboundMessage {
  uid: number;
  messageId: string | undefined;
  /** Message-IDs from In-Reply-To and References (and, for a DSN, the returned message's). */
  referencedIds: string[];
  from: string | undefined;
  to: string | undefined;
  subject: string | undefined;
  text: string | undefined;
  classification: InboundClass;
}

export interface Checkpoint {
  uidValidity: bigint;
  lastUid: number;
}

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

function parseHeaders(raw: Buffer | undefined): Map<string, string> {
  const headers = new Map<string, string>();
  const text = (raw?.toString('utf8') ?? '').replace(/\r?\n[ \t]+/g, ' ');
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
  }
  return headers;
}

function findParts(node: MessageStructureObject | undefined, out: MessageStructureObject[] = []) {
  if (!node) return out;
  out.push(node);
  for (const child of node.childNodes ?? []) findParts(child, out);
  return out;
}

/** Decodes a fetched body part (base64 and quoted-printable; 7bit/8bit as they are). */
function decode(part: MessageStructureObject, raw: Buffer | undefined): string | undefined {
  if (!raw) return undefined;
  const encoding = part.encoding?.toLowerCase();
  if (encoding === 'base64') return Buffer.from(raw.toString('ascii'), 'base64').toString('utf8');
  if (encoding === 'quoted-printable')
    return raw
      .toString('latin1')
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  return raw.toString('utf8');
}

/**
 * Reads the INBOX messages after the checkpoint (call with the INBOX lock held). A UIDVALIDITY
 * change means the folder was recreated: everything is read again (the caller dedupes by
 * Message-ID). `N:*` also answers the highest message when nothing is new (RFC 3501), hence the
 * uid filter. Collects first and fetches parts after: commands inside a fetch loop deadlock.
 */
export async function readNewMessages(
  client: ImapFlow,
  checkpoint: Checkpoint | undefined,
): Promise<{ uidValidity: bigint; messages: InboundMessage[] }> {
  const mailbox = client.mailbox;
  if (!mailbox) throw new Error('no mailbox selected');
  const uidValidity = BigInt(mailbox.uidValidity);
  const lastUid = checkpoint && checkpoint.uidValidity === uidValidity ? checkpoint.lastUid : 0;
  if (mailbox.exists === 0) return { uidValidity, messages: [] };
  const fetched: FetchMessageObject[] = (
    await client.fetchAll(
      `${lastUid + 1}:*`,
      { uid: true, envelope: true, bodyStructure: true, headers: HEADERS },
      { uid: true },
    )
  ).filter((m) => m.uid > lastUid);
  const messages: InboundMessage[] = [];
  for (const m of fetched) {
    const headers = parseHeaders(m.headers);
    // A single-part message's body is part 1 (its structure node carries no part number).
    const root = m.bodyStructure;
    const parts = findParts(root && !root.childNodes && !root.part ? { ...root, part: '1' } : root);
    const dsn = parts.find((p) => p.type === 'message/delivery-status');
    const returned = parts.find((p) => p.type === 'text/rfc822-headers' || p.type === 'message/rfc822');
    const text = parts.find((p) => p.type === 'text/plain');
    const wanted = [dsn, returned, text].filter((p): p is MessageStructureObject => Boolean(p?.part));
    const bodies = wanted.length
      ? (
          (await client.fetchOne(String(m.uid), { bodyParts: wanted.map((p) => p.part!) }, { uid: true })) ||
          undefined
        )?.bodyParts
      : undefined;
    const body = (p: MessageStructureObject | undefined) =>
      p?.part ? decode(p, bodies?.get(p.part)) : undefined;
    const deliveryStatus = body(dsn);
    const returnedId = returned?.envelope?.messageId ?? returnedMessageId(body(returned));
    messages.push({
      uid: m.uid,
      messageId: m.envelope?.messageId,
      referencedIds: [
        ...referencedMessageIds(m.envelope?.inReplyTo, headers.get('references')),
        ...(returnedId ? [returnedId] : []),
      ],
      from: m.envelope?.from?.[0]?.address?.toLowerCase(),
      to: m.envelope?.to?.[0]?.address?.toLowerCase(),
      subject: m.envelope?.subject,
      text: (text && body(text))?.slice(0, 100_000),
      classification: headers.has(VERIFICATION_HEADER.toLowerCase())
        ? { kind: 'auto_reply', reason: 'our own verification message' }
        : classifyInbound({
            headers,
            subject: m.envelope?.subject,
            contentType: m.bodyStructure?.type
              ? `${m.bodyStructure.type}; report-type=${m.bodyStructure.parameters?.['report-type'] ?? ''}`
              : undefined,
            ...(deliveryStatus !== undefined ? { deliveryStatus } : {}),
          }),
    });
  }
  return { uidValidity, messages };
}
