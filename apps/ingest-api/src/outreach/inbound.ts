import { randomBytes } from 'node:crypto';
import { bumpDailyStat } from '@prospectflow/outreach-core';
import { runWithTenant, withTenantClient } from '@prospectflow/tenant-context';
import type pg from 'pg';
import { cancelPendingTasks } from './tasks.js';

/** What a mail provider's inbound webhook posts (already parsed MIME). */
export interface InboundMail {
  messageId?: string;
  inReplyTo?: string;
  references?: string[];
  from?: string;
  to?: string;
  subject?: string;
  text?: string;
  headers?: Record<string, string>;
  /** For bounce reports: the delivery-status part (RFC 3464) fields, if the provider splits them. */
  dsn?: { action?: string; status?: string; recipient?: string };
}

export type InboundKind = 'reply' | 'auto_reply' | 'bounce';

export interface InboundResult {
  matched: boolean;
  kind: InboundKind;
  enrollmentId?: string;
  duplicate?: boolean;
}

const MESSAGE_ID = /<[^<>\s]+>/g;

function ids(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(' ') : (value ?? '');
  return joined.match(MESSAGE_ID) ?? [];
}

function header(mail: InboundMail, name: string): string {
  const entry = Object.entries(mail.headers ?? {}).find(([k]) => k.toLowerCase() === name);
  return entry?.[1] ?? '';
}

/** Bounce report (DSN, RFC 3464) with a permanent failure, auto-reply (RFC 3834 and common markers), or a reply. */
export function classifyInbound(mail: InboundMail): InboundKind {
  const text = mail.text ?? '';
  const action = mail.dsn?.action ?? text.match(/^Action:\s*(\S+)/im)?.[1];
  const status = mail.dsn?.status ?? text.match(/^Status:\s*(\d\.\d+\.\d+)/im)?.[1];
  if (action?.toLowerCase() === 'failed' && status?.startsWith('5')) return 'bounce';
  const autoSubmitted = header(mail, 'auto-submitted').toLowerCase();
  if (
    (autoSubmitted && autoSubmitted !== 'no') ||
    header(mail, 'x-autoreply') ||
    header(mail, 'x-auto-response-suppress') ||
    /^(auto_reply|bulk|junk)$/i.test(header(mail, 'precedence')) ||
    /out of (the )?office|automatic reply|auto(matic)?[- ]?reply|absence|abwesenheit|r[ée]ponse automatique/i.test(
      mail.subject ?? '',
    )
  ) {
    return 'auto_reply';
  }
  return 'reply';
}

/**
 * Matches an inbound mail to our outbound message by In-Reply-To / References (the organisation
 * comes from the narrow SECURITY DEFINER resolver), stores it as an inbound message and moves
 * the enrollment: reply → replied, permanent bounce → bounced + suppressed. Idempotent per Message-ID.
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
  return await runWithTenant({ organisationId: org }, () =>
    withTenantClient(pool, async (client) => {
      const original = (
        await client.query<{
          id: string;
          enrollment_id: string | null;
          variant_id: string | null;
          to_address: string;
          campaign_id: string | null;
        }>(
          `SELECT m.id, m.enrollment_id, m.variant_id, m.to_address, e.campaign_id FROM outreach.messages m
           LEFT JOIN outreach.campaign_enrollments e ON e.organisation_id = m.organisation_id AND e.id = m.enrollment_id
           WHERE m.message_id_header = ANY ($1::text[]) AND m.direction = 'outbound' ORDER BY m.created_at DESC LIMIT 1`,
          [candidates],
        )
      ).rows[0];
      if (!original) return { matched: false, kind };
      const messageId =
        ids(mail.messageId)[0] ?? `<inbound.${randomBytes(12).toString('hex')}@prospectflow.invalid>`;
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
          ids(mail.inReplyTo)[0] ?? null,
          ids(mail.references),
          /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(mail.from ?? '') ? mail.from : null,
          /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(mail.to ?? '') ? mail.to : null,
          mail.subject?.slice(0, 1000) ?? null,
          mail.text?.slice(0, 100_000) ?? null,
          now,
        ],
      );
      const result: InboundResult = {
        matched: true,
        kind,
        enrollmentId: original.enrollment_id ?? undefined,
      };
      if (inserted.rowCount === 0) return { ...result, duplicate: true };
      if (!original.enrollment_id || !original.campaign_id || kind === 'auto_reply') return result;
      if (kind === 'reply') {
        const changed = await client.query(
          `UPDATE outreach.campaign_enrollments SET status = 'replied', next_run_at = NULL WHERE id = $1 AND status = 'active' RETURNING id`,
          [original.enrollment_id],
        );
        if (changed.rowCount) {
          await cancelPendingTasks(client, [original.enrollment_id]);
          await bumpDailyStat(client, original.campaign_id, original.variant_id, 'replied', now);
        }
      } else {
        await client.query(
          `UPDATE outreach.messages SET status = 'bounced', error = $2 WHERE id = $1 AND status IN ('sent', 'queued')`,
          [original.id, `bounce report: ${mail.dsn?.status ?? 'permanent failure'}`],
        );
        await client.query(
          `INSERT INTO outreach.suppressions (email, reason, source_message_id) VALUES ($1, 'hard_bounce', $2)
           ON CONFLICT (organisation_id, email) DO NOTHING`,
          [original.to_address, original.id],
        );
        const changed = await client.query(
          `UPDATE outreach.campaign_enrollments SET status = 'bounced', next_run_at = NULL
           WHERE id = $1 AND status IN ('active', 'replied', 'completed', 'paused') RETURNING id`,
          [original.enrollment_id],
        );
        if (changed.rowCount) {
          await cancelPendingTasks(client, [original.enrollment_id]);
          await bumpDailyStat(client, original.campaign_id, original.variant_id, 'bounced', now);
        }
      }
      return result;
    }),
  );
}
