/**
 * Whether a campaign may send from a mailbox — the rule the campaigns repository applies on
 * activation and whenever an active campaign takes a mailbox on — and the 422 a mailbox in error
 * answers with (mailboxes.ts uses it too).
 */
import type { TenantClient } from '@prospectflow/tenant-context';
import { unprocessable } from '../lib/problem.js';

/** 422 mailbox_in_error: what a mailbox the provider refused needs before it is used again. */
export function mailboxInError(mailboxId: string, pausedReason: string | null, failure: string | null) {
  return unprocessable(
    'mailbox_in_error',
    `The mailbox is in error${pausedReason ? ` (${pausedReason})` : ''}: check it again (POST /v1/mailboxes/${mailboxId}/verify) or give it new credentials; a passing check makes it active again.`,
    { mailboxId, status: 'error', failure },
  );
}

/**
 * THE rule for a mailbox a campaign sends from (activation, and any mailbox an active campaign
 * takes on): verified by the worker, not in `error` (the provider refused it since: a passing
 * check returns it to active), and, for a relay mailbox, its domain proved now. 422 otherwise:
 * `mailbox_in_error` or `mailbox_unverified`, with the mailbox's id.
 */
export async function requireVerifiedMailbox(c: TenantClient, mailboxId: string): Promise<void> {
  const { rows } = await c.query<{
    status: string;
    verification_status: string;
    last_error_code: string | null;
    paused_reason: string | null;
    domain: string;
    domain_proved: boolean;
  }>(
    `SELECT m.status, m.verification_status, m.last_error_code, m.paused_reason,
       lower(split_part(m.from_address::text, '@', 2)) AS domain,
       m.provider <> 'relay' OR EXISTS (SELECT 1 FROM outreach.sending_domains d
         WHERE d.domain = lower(split_part(m.from_address::text, '@', 2)) AND d.verified_at IS NOT NULL) AS domain_proved
     FROM outreach.mailboxes m WHERE m.id = $1`,
    [mailboxId],
  );
  const m = rows[0];
  if (m?.status === 'error') throw mailboxInError(mailboxId, m.paused_reason, m.last_error_code);
  const status = m?.verification_status ?? 'unverified';
  if (m && !m.domain_proved)
    throw unprocessable(
      'mailbox_unverified',
      `The campaign's mailbox sends through the relay but ${m.domain} is not proved: prove it (POST /v1/sending-domains, then …/verify).`,
      { mailboxId, verification: status, failure: 'domain:domain_not_proved' },
    );
  if (status !== 'verified')
    throw unprocessable(
      'mailbox_unverified',
      `The campaign's mailbox is ${status}${m?.last_error_code ? ` (${m.last_error_code})` : ''}: it can send only once verified (GET /v1/mailboxes/${mailboxId}).`,
      { mailboxId, verification: status },
    );
}
