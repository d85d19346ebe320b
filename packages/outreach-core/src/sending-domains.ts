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
 * How long a proof may go unconfirmed while lookups fail (timeout, SERVFAIL) before it is withdrawn
 * as if DNS had answered that it is gone: a domain whose DNS stays broken cannot keep the relay.
 */
export const PROOF_UNCONFIRMED_LIMIT_DAYS = 7;

/**
 * Records a DNS check of sending domain `id`, with what it means for the domain's relay mailboxes,
 * in the caller's tenant transaction (the API's `POST …/verify` and the worker's periodic
 * re-check both come here). Proved: `verified_at` moves to now (the last time DNS showed the
 * proof) and the relay mailboxes waiting for it are queued for verification. DNS answered that the
 * proof is gone, or lookups have failed for longer than PROOF_UNCONFIRMED_LIMIT_DAYS since it was
 * last shown: the domain is unproved and its relay mailboxes are withdrawn (unverified, checked
 * again), so the relay stops sending as it at once (the outbound trigger requires a proved
 * domain). A failed lookup within that limit keeps the proof. Returns undefined when the
 * organisation has no such domain.
 */
export async function recordDomainCheck(
  c: Queryable,
  id: string,
  result: DomainCheck,
): Promise<{ domain: string; withdrawn: boolean; lastError: string | null } | undefined> {
  const before = await c.query<{ domain: string; proved: boolean; stale: boolean }>(
    `SELECT domain, verified_at IS NOT NULL AS proved,
       coalesce(verified_at < now() - make_interval(days => $2), false) AS stale
     FROM outreach.sending_domains WHERE id = $1 FOR UPDATE`,
    [id, PROOF_UNCONFIRMED_LIMIT_DAYS],
  );
  if (!before.rows[0]) return undefined;
  const { domain, proved: wasProved, stale } = before.rows[0];
  const gone = !result.proved && (result.absent || stale);
  const lastError = result.proved
    ? null
    : result.absent || !stale
      ? result.reason
      : `${result.reason}; the proof was not confirmed for ${PROOF_UNCONFIRMED_LIMIT_DAYS} days and is withdrawn`;
  await c.query(
    `UPDATE outreach.sending_domains SET last_checked_at = now(), last_error = $2,
       verified_at = CASE WHEN $3 THEN now() WHEN $4 THEN NULL ELSE verified_at END
     WHERE id = $1`,
    [id, lastError, result.proved, gone],
  );
  if (result.proved) await verifyRelayMailboxes(c, domain);
  else if (gone && wasProved) await withdrawRelayMailboxes(c, domain);
  return { domain, withdrawn: gone && wasProved, lastError };
}
