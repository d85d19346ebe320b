/**
 * The bindings of the secrets sealed for mailboxes and sending domains (AAD and KMS encryption
 * context): the API seals, the worker opens and key rotation re-wraps with the same one, so a
 * secret copied to another record or organisation never opens.
 */
export const SECRET_PURPOSE = {
  /** outreach.mailboxes.secret_*: SMTP/IMAP passwords or the OAuth refresh token. */
  mailboxCredentials: 'mailbox-credentials',
  /** outreach.sending_domains.dkim_*: the domain's DKIM private key. */
  dkimPrivateKey: 'dkim-private-key',
} as const;
export type SecretPurpose = (typeof SECRET_PURPOSE)[keyof typeof SECRET_PURPOSE];

export const secretBinding = (organisationId: string, recordId: string, purpose: SecretPurpose) => ({
  organisationId,
  recordId,
  purpose,
});

export const mailboxSecretBinding = (organisationId: string, mailboxId: string) =>
  secretBinding(organisationId, mailboxId, SECRET_PURPOSE.mailboxCredentials);

export const dkimSecretBinding = (organisationId: string, domainId: string) =>
  secretBinding(organisationId, domainId, SECRET_PURPOSE.dkimPrivateKey);
