import { randomUUID } from 'node:crypto';
import type { ProofResult } from '@prospectflow/mailboxes';
import { recordDomainCheck, withdrawRelayMailboxes } from '@prospectflow/outreach-core';
import type { SealedSecret } from '@prospectflow/secrets';
import { currentTenant } from '@prospectflow/tenant-context';
import type { Database } from '../plugins/app/db.js';

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
    /** Records a DNS check and what it means for the domain's relay mailboxes (recordDomainCheck). */
    async recordCheck(id: string, result: ProofResult): Promise<SendingDomainRow | undefined> {
      return await db.tenant(async (c) => {
        if (!(await recordDomainCheck(c, id, result))) return undefined;
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
