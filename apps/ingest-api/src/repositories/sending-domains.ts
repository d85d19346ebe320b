import { randomUUID } from 'node:crypto';
import type { ProofResult } from '@prospectflow/mailboxes';
import type { SealedSecret } from '@prospectflow/secrets';
import { currentTenant } from '@prospectflow/tenant-context';
import type { Database } from '../plugins/app/db.js';
import { verifyRelayMailboxes, withdrawRelayMailboxes } from './mailboxes.js';

export interface SendingDomainRow {
  id: string;
  domain: string;
  proofToken: string;
  dkimSelector: string;
  dkimPublicKey: string;
  verifiedAt: string | null;
  lastCheckedAt: string | null;
  lastError: string | null;
  createdAt: string;
}

const SELECT = `SELECT id, domain, proof_token AS "proofToken", dkim_selector AS "dkimSelector", dkim_public_key AS "dkimPublicKey",
  to_json(verified_at) #>> '{}' AS "verifiedAt", to_json(last_checked_at) #>> '{}' AS "lastCheckedAt", last_error AS "lastError",
  to_json(created_at) #>> '{}' AS "createdAt" FROM outreach.sending_domains`;

/** Domains the request's organisation proves for the platform relay (RLS scopes every statement). */
export function sendingDomainsRepository(db: Database) {
  const get = (id: string) =>
    db.tenant(async (c) => (await c.query<SendingDomainRow>(`${SELECT} WHERE id = $1`, [id])).rows[0]);
  return {
    newId: () => randomUUID(),
    organisationId: () => currentTenant()!.organisationId,
    get,
    async list(): Promise<SendingDomainRow[]> {
      return await db.tenant(
        async (c) => (await c.query<SendingDomainRow>(`${SELECT} ORDER BY domain`)).rows,
      );
    },
    async create(
      id: string,
      domain: string,
      proofToken: string,
      dkim: { selector: string; publicKey: string; sealed: SealedSecret },
    ): Promise<SendingDomainRow> {
      await db.tenant((c) =>
        c.query(
          `INSERT INTO outreach.sending_domains (id, domain, proof_token, dkim_selector, dkim_public_key, dkim_ciphertext, dkim_wrapped_key, dkim_key_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            id,
            domain,
            proofToken,
            dkim.selector,
            dkim.publicKey,
            dkim.sealed.ciphertext,
            dkim.sealed.wrappedKey,
            dkim.sealed.keyId,
          ],
        ),
      );
      return (await get(id))!;
    },
    /**
     * Records a DNS check, in one transaction with what it means for the domain's relay mailboxes.
     * Proved: the ones waiting for it are queued for verification. DNS answered that the proof is
     * gone (`absent`: no such name, no TXT, or none with the value): the domain is unproved again
     * and, if it was proved, its relay mailboxes are withdrawn (unverified, checked again). A
     * failed lookup (timeout, SERVFAIL) keeps an earlier proof: it says nothing about the record.
     */
    async recordCheck(id: string, result: ProofResult): Promise<SendingDomainRow | undefined> {
      return await db.tenant(async (c) => {
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
        return (await c.query<SendingDomainRow>(`${SELECT} WHERE id = $1`, [id])).rows[0];
      });
    },
    /** Removing a domain withdraws its relay mailboxes (same transaction): the proof went with it. */
    async delete(id: string): Promise<boolean> {
      return await db.tenant(async (c) => {
        const { rows } = await c.query<{ domain: string }>(
          'DELETE FROM outreach.sending_domains WHERE id = $1 RETURNING domain',
          [id],
        );
        if (!rows[0]) return false;
        await withdrawRelayMailboxes(c, rows[0].domain);
        return true;
      });
    },
  };
}
