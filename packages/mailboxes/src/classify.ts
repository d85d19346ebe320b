/**
 * Classifies an inbound message: a delivery status notification (RFC 3464, or RFC 6533's
 * internationalised one), an automatic message
 * (RFC 3834 Auto-Submitted and the common non-standard markers), or a human reply. Order matters:
 * a DSN is also automatic, and an out-of-office must never count as a reply.
 */

export interface DsnRecipient {
  /** The address that failed (Original-Recipient when given, else Final-Recipient). */
  address: string;
  finalRecipient: string;
  action: string;
  /** Enhanced status code, e.g. 5.1.1 */
  status: string;
  diagnostic?: string;
}

export interface DeliveryReport {
  reportingMta?: string;
  recipients: DsnRecipient[];
}

export type InboundClass =
  | { kind: 'bounce'; recipients: DsnRecipient[]; report: DeliveryReport }
  | { kind: 'auto_reply'; reason: string; report?: DeliveryReport }
  | { kind: 'reply' };

/** Header lookup, case-insensitive: a Map or record of lower- or mixed-case names. */
export type Headers = Map<string, string | string[]> | Record<string, string | string[] | undefined>;

function get(headers: Headers, name: string): string {
  const lower = name.toLowerCase();
  const entries = headers instanceof Map ? [...headers.entries()] : Object.entries(headers);
  const found = entries.find(([k]) => k.toLowerCase() === lower)?.[1];
  return (Array.isArray(found) ? found.join(', ') : (found ?? '')).trim();
}

/** Unfolds RFC 822-style field blocks ("Name: value" with continuation lines), separated by blank lines. */
function fieldBlocks(text: string): Record<string, string>[] {
  const blocks: Record<string, string>[] = [];
  for (const chunk of text.replace(/\r\n/g, '\n').split(/\n[ \t]*\n/)) {
    const fields: Record<string, string> = {};
    let last: string | undefined;
    for (const line of chunk.split('\n')) {
      if (/^[ \t]/.test(line) && last) fields[last] += ` ${line.trim()}`;
      else {
        const at = line.indexOf(':');
        if (at <= 0) continue;
        last = line.slice(0, at).trim().toLowerCase();
        fields[last] = line.slice(at + 1).trim();
      }
    }
    if (Object.keys(fields).length) blocks.push(fields);
  }
  return blocks;
}

/** "rfc822; alice@example.com" → alice@example.com */
function addressOf(typed: string | undefined): string | undefined {
  if (!typed) return undefined;
  const value = (typed.includes(';') ? typed.slice(typed.indexOf(';') + 1) : typed)
    .trim()
    .replace(/^<|>$/g, '');
  return /^[^@\s]+@[^@\s]+$/.test(value) ? value.toLowerCase() : undefined;
}

const DSN_FIELD =
  /^(reporting-mta|dsn-gateway|original-envelope-id|arrival-date|original-recipient|final-recipient):/im;
const PER_MESSAGE_FIELD = /^(reporting-mta|dsn-gateway|original-envelope-id|arrival-date):/i;

/**
 * The delivery-status fields inside a message's text (a provider that flattens a DSN into its
 * body), from the first RFC 3464 field on, ready for parseDeliveryStatus: when the text starts
 * with a recipient's fields, an empty per-message block is put before them (the parser reads the
 * first block as the per-message fields). undefined: the text has no such field.
 */
export function deliveryStatusInText(text: string | undefined): string | undefined {
  const at = text?.search(DSN_FIELD) ?? -1;
  if (!text || at < 0) return undefined;
  const fields = text.slice(at);
  return PER_MESSAGE_FIELD.test(fields) ? fields : `Reporting-MTA: dns; unknown\n\n${fields}`;
}

/**
 * Whether a message is a delivery report by its Content-Type: multipart/report with report-type
 * delivery-status (RFC 3464) or global-delivery-status (RFC 6533). The one rule both doors use
 * before they read delivery-status fields or a returned message: a person's mail that quotes a
 * DSN, or attaches one of ours, is not a report.
 */
export function isDeliveryReport(contentType: string | undefined): boolean {
  return /^\s*multipart\/report\s*;(.*;)?\s*report-type\s*=\s*"?(global-)?delivery-status"?\s*(;|$)/i.test(
    contentType ?? '',
  );
}

/** A report's machine-readable part: message/delivery-status, or message/global-delivery-status (RFC 6533). */
export const DELIVERY_STATUS_TYPES: readonly string[] = [
  'message/delivery-status',
  'message/global-delivery-status',
];
/** A report's returned message or its headers (RFC 3462, RFC 6533). */
export const RETURNED_MESSAGE_TYPES: readonly string[] = [
  'text/rfc822-headers',
  'message/rfc822',
  'message/global-headers',
  'message/global',
];

/** A report of one recipient from loose Action/Status fields (a provider's split fields, or text). */
export function singleRecipientReport(
  action: string,
  status: string,
  recipient: string | undefined,
): DeliveryReport {
  const typed = recipient && (recipient.includes(';') ? recipient : `rfc822; ${recipient}`);
  const parsed = typed
    ? parseDeliveryStatus(
        `Reporting-MTA: dns; unknown\n\nFinal-Recipient: ${typed}\nAction: ${action}\nStatus: ${status}\n`,
      )
    : undefined;
  if (parsed?.recipients.length) return parsed;
  // No usable recipient: still a report (the bounce then falls back to the address we sent to).
  const code = status.match(/\d\.\d{1,3}\.\d{1,3}/)?.[0] ?? status;
  return { recipients: [{ address: '', finalRecipient: '', action: action.toLowerCase(), status: code }] };
}

/**
 * The report a delivery report's text carries when its delivery-status part is not at hand (a
 * provider that flattens the DSN into the body): every RFC 3464 recipient block, else a lone
 * Action/Status (older providers). Only for a report (isDeliveryReport) or a mail system's mail.
 */
function reportInText(text: string | undefined): DeliveryReport {
  const inText = deliveryStatusInText(text);
  const report = inText === undefined ? undefined : parseDeliveryStatus(inText);
  if (report?.recipients.length) return report;
  const action = text?.match(/^Action:\s*(\S+)/im)?.[1];
  const status = text?.match(/^Status:\s*(\d\.\d+\.\d+)/im)?.[1];
  return action && status ? singleRecipientReport(action, status, undefined) : { recipients: [] };
}

/** Parses the `message/delivery-status` part of a DSN (RFC 3464 §2). */
export function parseDeliveryStatus(text: string): DeliveryReport {
  const [perMessage, ...perRecipient] = fieldBlocks(text);
  const recipients: DsnRecipient[] = [];
  for (const fields of perRecipient) {
    const finalRecipient = addressOf(fields['final-recipient']);
    if (!finalRecipient || !fields.action || !fields.status) continue;
    recipients.push({
      address: addressOf(fields['original-recipient']) ?? finalRecipient,
      finalRecipient,
      action: fields.action.toLowerCase(),
      status: fields.status.match(/\d\.\d{1,3}\.\d{1,3}/)?.[0] ?? fields.status,
      ...(fields['diagnostic-code'] ? { diagnostic: fields['diagnostic-code'] } : {}),
    });
  }
  return { reportingMta: addressOrText(perMessage?.['reporting-mta']), recipients };
}

function addressOrText(value: string | undefined): string | undefined {
  return value?.replace(/^[a-z]+;\s*/i, '');
}

export interface InboundParts {
  headers: Headers;
  subject?: string;
  /** Content type of the whole message, e.g. "multipart/report; report-type=delivery-status". */
  contentType?: string;
  /** Text of the (global-)delivery-status part, when the message has one. */
  deliveryStatus?: string;
  /**
   * The message's text: read for delivery-status fields only when it is a report without that
   * part, or a mail system's mail (fromMailSystem).
   */
  text?: string;
  /** The From header's value (for a mail without it, or a webhook's `from` field). */
  from?: string;
  /** The delivery-status part already parsed (a door that gets its fields some other way). */
  report?: DeliveryReport;
}

const AUTO_SUBJECT =
  /^(auto(matic)?[ -]?reply|out of (the )?office|autosvar|abwesenheitsnotiz|r[ée]ponse automatique|absence)\b/i;

const MAIL_SYSTEM_SENDER = /(^|[<\s])(mailer-daemon|postmaster)@/i;
const BOUNCE_SUBJECT =
  /^(undeliver(ed|able)|delivery (status notification|failure|has failed)|mail delivery (failed|failure|system)|returned mail|failure notice|non-?delivery)/i;

/**
 * Mail that is no person's, so delivery-status fields in its text are its report (a mail system or
 * a provider that flattened the DSN): a null Return-Path, a MAILER-DAEMON or postmaster sender, a
 * bounce's subject, or no From at all (RFC 5322 requires one: a webhook post without it is no
 * one's reply). A person's reply quoting a bounce has none of these.
 */
function fromMailSystem(parts: InboundParts): boolean {
  const from = (parts.from ?? get(parts.headers, 'from')).trim();
  const subject = (parts.subject ?? get(parts.headers, 'subject')).trim();
  return (
    get(parts.headers, 'return-path') === '<>' ||
    !from ||
    MAIL_SYSTEM_SENDER.test(from) ||
    BOUNCE_SUBJECT.test(subject)
  );
}

export function classifyInbound(parts: InboundParts): InboundClass {
  const contentType = (parts.contentType || get(parts.headers, 'content-type')).toLowerCase();
  const isReport =
    Boolean(parts.report) || parts.deliveryStatus !== undefined || isDeliveryReport(contentType);
  const flattened = !isReport && fromMailSystem(parts) ? reportInText(parts.text) : undefined;
  if (isReport || flattened?.recipients.length) {
    const report =
      parts.report ??
      (parts.deliveryStatus !== undefined
        ? parseDeliveryStatus(parts.deliveryStatus)
        : (flattened ?? reportInText(parts.text)));
    const failed = report.recipients.filter((r) => r.action === 'failed' && r.status.startsWith('5'));
    if (failed.length) return { kind: 'bounce', recipients: failed, report };
    // delayed, delivered, relayed or a 4.x.x failure: automatic, not a bounce and not a reply.
    return { kind: 'auto_reply', reason: 'delivery status notification without a permanent failure', report };
  }
  const autoSubmitted = get(parts.headers, 'auto-submitted').toLowerCase();
  if (autoSubmitted && !autoSubmitted.startsWith('no'))
    return { kind: 'auto_reply', reason: `Auto-Submitted: ${autoSubmitted}` };
  for (const name of ['x-autoreply', 'x-autorespond', 'x-autoresponse']) {
    if (get(parts.headers, name)) return { kind: 'auto_reply', reason: `${name} present` };
  }
  const precedence = (get(parts.headers, 'precedence') || get(parts.headers, 'x-precedence')).toLowerCase();
  if (/^(auto_reply|bulk|junk|list)$/.test(precedence))
    return { kind: 'auto_reply', reason: `Precedence: ${precedence}` };
  if (get(parts.headers, 'list-id') || get(parts.headers, 'list-unsubscribe'))
    return { kind: 'auto_reply', reason: 'list mail' };
  if (get(parts.headers, 'return-path') === '<>') return { kind: 'auto_reply', reason: 'null return path' };
  if (AUTO_SUBJECT.test((parts.subject ?? get(parts.headers, 'subject')).trim()))
    return { kind: 'auto_reply', reason: 'automatic-reply subject' };
  return { kind: 'reply' };
}

/** The Message-ID of the original message a DSN returns (its text/rfc822-headers or message/rfc822 part). */
export function returnedMessageId(returnedHeaders: string | undefined): string | undefined {
  const field = fieldBlocks(returnedHeaders ?? '')[0]?.['message-id'];
  return field?.match(/<[^<>\s]+>/)?.[0];
}
