import type { Queryable } from './stats.js';
import { enqueue, TASKS } from './tasks.js';

/**
 * What a DNS check of a domain's `_prospectflow` TXT proof found (@prospectflow/mailboxes'
 * checkDomainProof returns it). `absent`: DNS answered and the proof is not there; a failed lookup
 * (timeout, SERVFAIL) is not absent and says nothing about the record.
 */
export type DomainCheck = { proved: true } | { proved: false; absent: boolean; reason: string };

/**
 * A new check of a mailbox is due (SQL `SET` list): a new credentials version (a result for an
 * older one is dropped by the worker), unverified, its last steps and failure cleared. Queue the
 * check after.
 */
export const REVERIFY_MAILBOX = `credentials_version = credentials_version + 1, verification_status = 'unverified',
  verified_at = NULL, verification = '{}', last_error_code = NULL`;

/** The relay mailboxes of the domain `$1` (the organisation's, by RLS): from-addresses in that domain. */
const RELAY_OF_DOMAIN = `provider = 'relay' AND lower(split_part(from_address::text, '@', 2)) = $1`;

const queueChecks = (c: Queryable, rows: { id: string; credentials_version: number }[]) =>
  enqueue(
    c,
    rows.map((m) => TASKS.verifyMailbox(m.id, m.credentials_version)),
  );

/**
 * A domain's proof is gone (deleted, or DNS no longer has it): its relay mailboxes need a new
 * check, which the worker runs at once (and records as domain_not_proved); proving the domain
 * again queues it once more. Same transaction as the caller's change to the domain.
 */
export async function withdrawRelayMailboxes(c: Queryable, domain: string): Promise<void> {
  const { rows } = await c.query<{ id: string; credentials_version: number }>(
    `UPDATE outreach.mailboxes SET ${REVERIFY_MAILBOX} WHERE ${RELAY_OF_DOMAIN} RETURNING id, credentials_version`,
    [domain],
  );
  await queueChecks(c, rows);
}

/** A domain was proved: its relay mailboxes waiting for it are queued for verification. */
export async function verifyRelayMailboxes(c: Queryable, domain: string): Promise<void> {
  const { rows } = await c.query<{ id: string; credentials_version: number }>(
    `SELECT id, credentials_version FROM outreach.mailboxes WHERE ${RELAY_OF_DOMAIN} AND verification_status <> 'verified'`,
    [domain],
  );
  await queueChecks(c, rows);
}

/**
 * Records a DNS check of sending domain `id`, with what it means for the domain's relay mailboxes,
 * in the caller's tenant transaction (the API's `POST …/verify` and the worker's periodic
 * re-check both come here). Proved: the mailboxes waiting for it are queued for verification. DNS
 * answered that the proof is gone: the domain is unproved again and, if it was proved, its relay
 * mailboxes are withdrawn (unverified, checked again), so the relay stops sending as it at once
 * (the outbound trigger requires a proved domain). A failed lookup keeps an earlier proof.
 * Returns undefined when the organisation has no such domain.
 */
export async function recordDomainCheck(
  c: Queryable,
  id: string,
  result: DomainCheck,
): Promise<{ domain: string; wasProved: boolean; withdrawn: boolean } | undefined> {
  const before = await c.query<{ domain: string; proved: boolean }>(
    'SELECT domain, verified_at IS NOT NULL AS proved FROM outreach.sending_domains WHERE id = $1 FOR UPDATE',
    [id],
  );
  if (!before.rows[0]) return undefined;
  const { domain, proved: wasProved } = before.rows[0];
  const gone = !result.proved && result.absent;
  await c.query(
    `UPDATE outreach.sending_domains SET last_checked_at = now(), last_error = $2,
       verified_at = CASE WHEN $3 THEN coalesce(verified_at, now()) WHEN $4 THEN NULL ELSE verified_at END
     WHERE id = $1`,
    [id, result.proved ? null : result.reason, result.proved, gone],
  );
  if (result.proved) await verifyRelayMailboxes(c, domain);
  else if (gone && wasProved) await withdrawRelayMailboxes(c, domain);
  return { domain, wasProved, withdrawn: gone && wasProved };
}
