import { type SubjectKeys, subjectHmac } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';

/**
 * What an import transaction sets so the rows it writes carry their provenance (migration 0870:
 * the CRM tables' defaults and update trigger read these) and the audit trail records one line
 * per statement instead of one per row. The contract for every importer (CSV/JSON here, SQLite in
 * legacy-import). $1 import id, $2 source kind ('csv', 'json', 'sqlite').
 */
export const IMPORT_PROVENANCE_SQL = `SELECT set_config('app.import_id', $1::text, true), set_config('app.source_kind', $2::text, true)`;

/** Temp table of the import's addresses that are on the keyed-hash suppression list. */
export const ERASED_TABLE = 'pf_import_erased';

/**
 * Fills ERASED_TABLE with the addresses of `fromTable` (normalised, column `email`) whose keyed
 * hash is suppressed, so the import skips them without ever storing them (not even as an error
 * value). Hashing happens here because the key never enters the database; it is skipped entirely
 * (no row read back) while the organisation has no hashed suppression, the common case.
 */
export async function flagErasedRows(
  client: TenantClient,
  keys: SubjectKeys,
  fromTable: string,
): Promise<number> {
  await client.query(
    `CREATE TEMP TABLE IF NOT EXISTS ${ERASED_TABLE} (email text PRIMARY KEY) ON COMMIT DROP`,
  );
  const { rows: hashes } = await client.query<{ key_version: number; email_hmac: Buffer }>(
    'SELECT key_version, email_hmac FROM outreach.suppression_hashes',
  );
  if (hashes.length === 0) return 0;
  const suppressed = new Set(hashes.map((h) => `${h.key_version}:${h.email_hmac.toString('hex')}`));
  const versions = keys.all.filter((key) => hashes.some((h) => h.key_version === key.version));
  const { rows } = await client.query<{ email: string }>(
    `SELECT DISTINCT email FROM ${fromTable} WHERE email IS NOT NULL`,
  );
  const erased = rows
    .map((row) => row.email)
    .filter((email) =>
      versions.some((key) => suppressed.has(`${key.version}:${subjectHmac(email, key).toString('hex')}`)),
    );
  if (erased.length > 0) {
    await client.query(
      `INSERT INTO ${ERASED_TABLE} (email) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
      [erased],
    );
  }
  return erased.length;
}
