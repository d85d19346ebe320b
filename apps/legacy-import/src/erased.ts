import {
  emailsIn,
  nameWords,
  type SubjectKeys,
  subjectHmac,
  subjectNameHmac,
} from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';

/**
 * Tells whether a text (a row's text values, one per line) belongs to an erased person: it
 * carries an address on the hashed suppression list, or it names an erased person (keyed hash
 * of the normalised full name, legacy.erased_names) and carries no other address. The same
 * definition as app.subject_owns, which the erasure and the access export use.
 */
export type ErasedCheck = (text: string) => boolean;

/** Names are looked for as runs of 2 to this many words inside a value (and as the whole value). */
const MAX_NAME_WORDS = 6;

type Hashes = { key_version: number; hmac: Buffer };

/**
 * Art. 17: an erased person must not come back through a re-import. Reads the organisation's
 * hashed suppression list and erased names once; null when both are empty (nothing to check,
 * the common case).
 */
export async function loadErasedCheck(client: TenantClient, keys: SubjectKeys): Promise<ErasedCheck | null> {
  const { rows: emailRows } = await client.query<Hashes>(
    'SELECT key_version, email_hmac AS hmac FROM outreach.suppression_hashes',
  );
  const { rows: nameRows } = await client.query<Hashes>(
    'SELECT key_version, name_hmac AS hmac FROM legacy.erased_names',
  );
  if (emailRows.length === 0 && nameRows.length === 0) return null;
  const lookup = (rows: Hashes[]) => ({
    set: new Set(rows.map((r) => `${r.key_version}:${r.hmac.toString('hex')}`)),
    versions: keys.all.filter((k) => rows.some((r) => r.key_version === k.version)),
  });
  const emails = lookup(emailRows);
  const names = lookup(nameRows);
  const emailErased = (email: string) =>
    emails.versions.some((k) => emails.set.has(`${k.version}:${subjectHmac(email, k).toString('hex')}`));
  const nameErased = (name: string) =>
    names.versions.some((k) => names.set.has(`${k.version}:${subjectNameHmac(name, k).toString('hex')}`));
  return (text) => {
    const found = emailsIn(text);
    if (found.some(emailErased)) return true;
    // A row naming an erased person but carrying someone else's address is that someone's.
    if (found.length > 0 || names.versions.length === 0) return false;
    for (const value of text.split('\n')) {
      const words = nameWords(value);
      if (words.length >= 2 && nameErased(words.join(' '))) return true;
      for (let size = 2; size <= Math.min(MAX_NAME_WORDS, words.length - 1); size++) {
        for (let start = 0; start + size <= words.length; start++) {
          if (nameErased(words.slice(start, start + size).join(' '))) return true;
        }
      }
    }
    return false;
  };
}
