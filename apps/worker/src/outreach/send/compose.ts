import { render, TemplateError, type TemplateValues } from '@prospectflow/outreach-core';
import type { OutgoingMail } from '../mailer.js';
import { pickVariant } from '../variant.js';
import type { MailboxRow } from '../window.js';
import type { MessageRow, SendStateRow, VariantRow } from './statements.js';

/**
 * Composing a message, pure: template values, subject and body, the HTML part with its tracking
 * pixel, and the headers (Message-ID, threading, unsubscribe). No I/O: tokens and values come in.
 */

/** The closed list of template values (TEMPLATE_VARIABLES in outreach-core) for one recipient. */
export function templateValues(target: Record<string, string | null>, mailbox: MailboxRow): TemplateValues {
  return {
    'person.first_name': target.first_name,
    'person.last_name': target.last_name,
    'person.full_name': [target.first_name, target.last_name].filter(Boolean).join(' '),
    'company.name': target.company_name,
    'company.domain': target.domain,
    'company.city': target.city,
    'company.industry': target.industry,
    'company.website_url': target.website_url,
    'position.title': target.title,
    'position.email': target.email,
    'sender.name': mailbox.from_name,
    'sender.email': mailbox.from_address,
  };
}

/**
 * The enrollment's variant for this step: stored assignment, else the chosen winner, else a
 * stable weighted pick (`store`: the reservation records it with the message).
 */
export function chooseVariant(
  experiment: SendStateRow['experiment'],
  seed: string,
  enrollmentId: string,
): { variant: VariantRow | undefined; store: boolean } {
  if (!experiment) return { variant: undefined, store: false };
  if (experiment.assigned) return { variant: experiment.assigned, store: false };
  const variants = experiment.variants;
  if (variants.length === 0) return { variant: undefined, store: false };
  const chosen =
    experiment.status === 'winner_chosen' && experiment.winner_variant_id
      ? variants.find((v) => v.id === experiment.winner_variant_id)!
      : pickVariant(seed, experiment.id, enrollmentId, variants);
  return { variant: chosen, store: true };
}

export interface ContentInput {
  subjectTemplate: string | null;
  bodyTemplate: string | null;
  /** The previous sent message of the enrollment (a step without subject replies in its thread). */
  previous: SendStateRow['previous'];
  stepOrder: number;
  values: TemplateValues;
}

export type Content =
  | { ok: true; subject: string; text: string; previous: SendStateRow['previous'] }
  | { ok: false; reason: string; pauseEnrollment: boolean };

/** Subject and plain-text body; a failure names what the author must fix. */
export function renderContent(input: ContentInput): Content {
  const { subjectTemplate, bodyTemplate, stepOrder } = input;
  if (!bodyTemplate) return { ok: false, reason: 'step has no body template', pauseEnrollment: false };
  const previous = subjectTemplate ? null : input.previous;
  if (!subjectTemplate && !previous)
    return {
      ok: false,
      reason: 'step has no subject template and no earlier message to reply to',
      pauseEnrollment: true,
    };
  const values = { ...input.values };
  try {
    // The Art. 14 notice is itself a template (e.g. its {{privacy.source}}).
    if (values['privacy.notice']) values['privacy.notice'] = render(values['privacy.notice'], values);
    const subject = subjectTemplate
      ? render(subjectTemplate, values)
      : `Re: ${String(previous!.subject).replace(/^Re:\s*/i, '')}`;
    return { ok: true, subject, text: render(bodyTemplate, values), previous };
  } catch (error) {
    if (!(error instanceof TemplateError)) throw error;
    return { ok: false, reason: `template of step ${stepOrder}: ${error.message}`, pauseEnrollment: true };
  }
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The HTML part: the text, escaped, line breaks kept, and the 1×1 open pixel when tracking is on. */
export function htmlBody(text: string, base: string, pixelToken: string | null): string {
  let html = `<div>${escapeHtml(text).replace(/\r?\n/g, '<br>\n')}</div>`;
  if (pixelToken)
    html += `\n<img src="${base}/t/${pixelToken}.gif" width="1" height="1" alt="" style="display:none">`;
  return html;
}

/** References of a follow-up: the previous message's, then the previous message itself. */
export function referencesOf(previous: SendStateRow['previous']): string[] {
  return previous ? [...(previous.references_headers ?? []), previous.message_id_header] : [];
}

export function unsubscribeHeaders(base: string, token: string, fromAddress: string): Record<string, string> {
  return {
    // RFC 2369 + RFC 8058: https for one-click POST; mailto for clients that write instead, to the
    // sending mailbox itself, whose inbox the platform reads (IMAP poller, or the webhook for the
    // relay): outreach-core's applyInbound takes the token from the subject.
    'List-Unsubscribe': `<mailto:${fromAddress}?subject=unsubscribe%20${token}>, <${base}/u/${token}>`,
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
  };
}

/** The mail handed to SMTP for a reserved message row (a resend rebuilds exactly the same mail). */
export function mailOf(row: MessageRow, mailbox: MailboxRow, base: string): OutgoingMail {
  return {
    from: { name: mailbox.from_name, address: mailbox.from_address },
    to: row.to_address,
    subject: row.subject,
    text: row.body_text,
    html: row.body_html ?? undefined,
    messageId: row.message_id_header,
    headers: {
      ...unsubscribeHeaders(base, row.unsubscribe_token, mailbox.from_address),
      ...(row.in_reply_to
        ? { 'In-Reply-To': row.in_reply_to, References: (row.references_headers ?? []).join(' ') }
        : {}),
    },
  };
}
