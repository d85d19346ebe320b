import { randomUUID } from 'node:crypto';
import { enqueue, TASKS } from '@prospectflow/outreach-core';
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
    /**
     * Records a DNS check. Proved: the relay mailboxes of the domain waiting for it are queued for
     * verification (same transaction). A failed re-check keeps an earlier proof (DNS may flap).
     */
    async recordCheck(
      id: string,
      proved: boolean,
      error: string | null,
    ): Promise<SendingDomainRow | undefined> {
      return await db.tenant(async (c) => {
        const { rows } = await c.query<{ domain: string }>(
          `UPDATE outreach.sending_domains SET last_checked_at = now(), last_error = $2,
             verified_at = CASE WHEN $3 THEN coalesce(verified_at, now()) ELSE verified_at END
           WHERE id = $1 RETURNING domain`,
          [id, error, proved],
        );
        if (!rows[0]) return undefined;
        if (proved) {
          const waiting = await c.query<{ id: string; credentials_version: number }>(
            `SELECT id, credentials_version FROM outreach.mailboxes
             WHERE provider = 'relay' AND verification_status <> 'verified' AND split_part(from_address::text, '@', 2) = $1`,
            [rows[0].domain],
          );
          await enqueue(
            c,
            waiting.rows.map((m) => TASKS.verifyMailbox(m.id, m.credentials_version)),
          );
        }
        return (await c.query<SendingDomainRow>(`${SELECT} WHERE id = $1`, [id])).rows[0];
      });
    },
    async delete(id: string): Promise<boolean> {
      const { rowCount } = await db.tenant((c) =>
        c.query('DELETE FROM outreach.sending_domains WHERE id = $1', [id]),
      );
      return (rowCount ?? 0) > 0;
    },
  };
}
