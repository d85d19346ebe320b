import { SECRET_PURPOSE, secretBinding } from '@prospectflow/mailboxes';
import type { SecretBox } from '@prospectflow/secrets';
import { runAsSystem } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import type { Logger } from '../logger.js';
import { inTenant } from '../queue/sql.js';

/** Every sealed secret of the schema: its table, columns and binding purpose. */
const SEALED = [
  {
    table: 'outreach.mailboxes',
    ciphertext: 'secret_ciphertext',
    wrapped: 'secret_wrapped_key',
    keyId: 'secret_key_id',
    purpose: SECRET_PURPOSE.mailboxCredentials,
  },
  {
    table: 'outreach.sending_domains',
    ciphertext: 'dkim_ciphertext',
    wrapped: 'dkim_wrapped_key',
    keyId: 'dkim_key_id',
    purpose: SECRET_PURPOSE.dkimPrivateKey,
  },
] as const;

export interface RotationReport {
  activeKeyId: string;
  organisations: number;
  rewrapped: number;
  failed: { organisationId: string; table: string; id: string; error: string }[];
}

/**
 * Key rotation: every data key wrapped by a key other than the provider's active one is re-wrapped
 * under it (KMS ReEncrypt, or unwrap + wrap for the local ring). Ciphertexts are not touched, so a
 * crash mid-way leaves each row either old or new, both readable while the old key is kept.
 * Runs organisation by organisation under RLS; a row that does not open is reported, not fatal.
 */
export async function rotateSealedSecrets(
  pool: Pool,
  box: SecretBox,
  log: Logger,
  options: { dryRun?: boolean } = {},
): Promise<RotationReport> {
  const activeKeyId = await box.provider.activeKeyId();
  const organisations = await runAsSystem(
    'secret key rotation',
    async () =>
      (
        await pool.query<{ organisation_id: string; pending: string }>(
          'SELECT * FROM app.organisations_with_sealed_secrets($1)',
          [activeKeyId],
        )
      ).rows,
  );
  const report: RotationReport = {
    activeKeyId,
    organisations: organisations.length,
    rewrapped: 0,
    failed: [],
  };
  const total = organisations.reduce((n, o) => n + Number(o.pending), 0);
  log.info(
    { activeKeyId, organisations: organisations.length, secrets: total, dryRun: !!options.dryRun },
    'rotation: secrets to re-wrap',
  );
  for (const [index, { organisation_id: organisationId }] of organisations.entries()) {
    if (options.dryRun) continue;
    await inTenant(pool, organisationId, async (client) => {
      for (const s of SEALED) {
        const { rows } = await client.query<{
          id: string;
          ciphertext: Buffer;
          wrapped: Buffer;
          key_id: string;
        }>(
          `SELECT id, ${s.ciphertext} AS ciphertext, ${s.wrapped} AS wrapped, ${s.keyId} AS key_id FROM ${s.table}
           WHERE ${s.keyId} IS NOT NULL AND ${s.keyId} <> $1 FOR UPDATE`,
          [activeKeyId],
        );
        for (const row of rows) {
          const binding = secretBinding(organisationId, row.id, s.purpose);
          try {
            const moved = await box.rewrap(
              { ciphertext: row.ciphertext, wrappedKey: row.wrapped, keyId: row.key_id },
              binding,
            );
            await client.query(`UPDATE ${s.table} SET ${s.wrapped} = $2, ${s.keyId} = $3 WHERE id = $1`, [
              row.id,
              moved.wrappedKey,
              moved.keyId,
            ]);
            report.rewrapped += 1;
          } catch (error) {
            report.failed.push({
              organisationId,
              table: s.table,
              id: row.id,
              error: (error as Error).message,
            });
          }
        }
      }
    });
    log.info(
      { done: index + 1, of: organisations.length, rewrapped: report.rewrapped },
      'rotation: progress',
    );
  }
  return report;
}
