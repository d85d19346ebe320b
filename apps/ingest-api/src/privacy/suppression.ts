import { type SubjectKeys, subjectHmac, subjectHmacs } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import { ProblemError } from '../lib/problem.js';

/**
 * The organisation's keyed-hash suppression list (outreach.suppression_hashes): erased and
 * objecting subjects, recognised again without their address being stored anywhere.
 */
export async function suppressSubject(
  client: TenantClient,
  keys: SubjectKeys,
  email: string,
  reason: 'erasure' | 'objection',
): Promise<void> {
  await client.query(
    `INSERT INTO outreach.suppression_hashes (key_version, email_hmac, reason) VALUES ($1, $2, $3)
     ON CONFLICT (organisation_id, key_version, email_hmac) DO NOTHING`,
    [keys.current.version, subjectHmac(email, keys.current), reason],
  );
}

/** Which of `emails` are on the list (under any key version still configured). */
export async function suppressedAmong(
  client: TenantClient,
  keys: SubjectKeys,
  emails: readonly string[],
): Promise<Set<string>> {
  if (emails.length === 0) return new Set();
  const versions: number[] = [];
  const hashes: Buffer[] = [];
  const owners: string[] = [];
  for (const email of emails) {
    for (const { version, hmac } of subjectHmacs(email, keys)) {
      versions.push(version);
      hashes.push(hmac);
      owners.push(email);
    }
  }
  const { rows } = await client.query<{ i: number }>(
    `SELECT c.i::int FROM unnest($1::smallint[], $2::bytea[]) WITH ORDINALITY AS c(v, h, i)
     WHERE EXISTS (SELECT 1 FROM outreach.suppression_hashes s WHERE s.key_version = c.v AND s.email_hmac = c.h)`,
    [versions, hashes],
  );
  return new Set(rows.map((r) => owners[r.i - 1]!));
}

/** Whether the organisation has any hashed suppression at all (lets bulk paths skip hashing). */
export async function hasHashedSuppressions(client: TenantClient): Promise<boolean> {
  const { rows } = await client.query('SELECT 1 FROM outreach.suppression_hashes LIMIT 1');
  return rows.length > 0;
}

/** 422 subject_erased when an API write would bring an erased or objecting person back. */
export async function refuseSuppressed(
  client: TenantClient,
  keys: SubjectKeys,
  email: string | null | undefined,
): Promise<void> {
  if (!email) return;
  if ((await suppressedAmong(client, keys, [email])).size === 0) return;
  throw new ProblemError(
    422,
    'subject_erased',
    'This address belongs to a person who asked to be erased or objected; it cannot be stored again.',
    { extensions: { errors: [{ path: '/email', code: 'subject_erased', message: 'suppressed' }] } },
  );
}
