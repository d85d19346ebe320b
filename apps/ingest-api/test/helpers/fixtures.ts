import { luhnValid } from '@prospectflow/field-rules';
import type { Pool } from 'pg';

/** A SIREN with a correct check digit, derived from `n` (distinct n → distinct SIREN). */
export function validSiren(n: number): string {
  const base = String(n % 100_000_000).padStart(8, '0');
  for (let digit = 0; digit <= 9; digit += 1) {
    const candidate = `${base}${digit}`;
    if (luhnValid(candidate)) return candidate;
  }
  throw new Error('unreachable: one check digit always fits');
}

/** The same SIREN with a wrong check digit. */
export function invalidSiren(n: number): string {
  const valid = validSiren(n);
  const last = (Number(valid[8]) + 1) % 10;
  return `${valid.slice(0, 8)}${last}`;
}

/**
 * What the worker's verification leaves on a relay mailbox whose domain is proved (the API tests
 * have no worker): the domain proved with a DKIM key row, the mailbox verified.
 */
export async function markMailboxVerified(admin: Pool, mailboxId: string): Promise<void> {
  await admin.query(
    `WITH mb AS (SELECT organisation_id, split_part(from_address::text, '@', 2) AS domain FROM outreach.mailboxes WHERE id = $1)
     INSERT INTO outreach.sending_domains (organisation_id, domain, proof_token, verified_at, dkim_selector, dkim_public_key,
       dkim_ciphertext, dkim_wrapped_key, dkim_key_id)
     SELECT organisation_id, domain, repeat('0', 32), now(), 'test', 'v=DKIM1; k=rsa; p=', '\\x00', '\\x00', 'local:test' FROM mb
     ON CONFLICT (organisation_id, domain) DO NOTHING`,
    [mailboxId],
  );
  await admin.query(
    `UPDATE outreach.mailboxes SET verification_status = 'verified', verified_at = now() WHERE id = $1`,
    [mailboxId],
  );
}
