/**
 * What a secret is bound to. The same binding is the AES-GCM additional authenticated data of
 * the secret and the encryption context of its wrapped data key, so a row copied to another
 * organisation, another record or another purpose does not decrypt.
 */
export interface SecretBinding {
  organisationId: string;
  /** Id of the record holding the secret (a mailbox, a sending domain…). */
  recordId: string;
  /** What the secret is for, e.g. 'mailbox-credentials', 'dkim-private-key'. */
  purpose: string;
}

/** KMS-style encryption context: not secret (KMS logs it), case-sensitive, exact match on decrypt. */
export type EncryptionContext = Record<string, string>;

export function encryptionContext(binding: SecretBinding): EncryptionContext {
  for (const [name, value] of Object.entries(binding)) {
    if (typeof value !== 'string' || value.length === 0 || value.includes('|'))
      throw new TypeError(`secret binding ${name} must be a non-empty string without "|"`);
  }
  return {
    organisation_id: binding.organisationId,
    record_id: binding.recordId,
    purpose: binding.purpose,
  };
}

/** Canonical bytes of a context (sorted keys), used as AAD. */
export function contextBytes(context: EncryptionContext): Buffer {
  const keys = Object.keys(context).sort();
  return Buffer.from(`pf1|${keys.map((k) => `${k}=${context[k]}`).join('|')}`, 'utf8');
}
