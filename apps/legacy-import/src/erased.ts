import { type SubjectKeys, subjectHmac } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';

const EMAILS = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;

/** Tells whether a text mentions an address whose keyed hash is on the suppression list. */
export type ErasedCheck = (text: string) => boolean;

/**
 * Art. 17: an erased person must not come back through a re-import. Reads the organisation's
 * hashed suppression list once; null when it is empty (nothing to check, the common case).
 */
export async function loadErasedCheck(client: TenantClient, keys: SubjectKeys): Promise<ErasedCheck | null> {
  const { rows } = await client.query<{ key_version: number; email_hmac: Buffer }>(
    'SELECT key_version, email_hmac FROM outreach.suppression_hashes',
  );
  if (rows.length === 0) return null;
  const suppressed = new Set(rows.map((r) => `${r.key_version}:${r.email_hmac.toString('hex')}`));
  const versions = keys.all.filter((k) => rows.some((r) => r.key_version === k.version));
  return (text) => {
    for (const email of text.match(EMAILS) ?? []) {
      if (versions.some((k) => suppressed.has(`${k.version}:${subjectHmac(email, k).toString('hex')}`))) {
        return true;
      }
    }
    return false;
  };
}
