import {
  type MailboxProvider,
  type MailboxSecrets,
  mailboxSecretBinding,
  type ServerColumns,
  type ServerEndpoint,
  serverFromColumns,
} from '@prospectflow/mailboxes';
import type { SecretBox } from '@prospectflow/secrets';
import type { TenantClient } from '@prospectflow/tenant-context';
import { PermanentError } from '../queue/errors.js';

/** A mailbox with its connection settings and opened secrets, as the worker uses it. */
export interface MailboxAccount {
  organisationId: string;
  id: string;
  provider: MailboxProvider;
  fromName: string;
  fromAddress: string;
  status: string;
  verificationStatus: string;
  credentialsVersion: number;
  smtp: ServerEndpoint | null;
  imap: ServerEndpoint | null;
  secrets: MailboxSecrets;
}

interface Row extends ServerColumns {
  organisation_id: string;
  id: string;
  provider: MailboxProvider;
  from_name: string;
  from_address: string;
  status: string;
  verification_status: string;
  credentials_version: number;
  secret_ciphertext: Buffer | null;
  secret_wrapped_key: Buffer | null;
  secret_key_id: string | null;
}

/** Reads a mailbox in the caller's tenant context and opens its secrets (undefined: gone). */
export async function loadAccount(
  client: Pick<TenantClient, 'query'>,
  mailboxId: string,
  box: SecretBox | undefined,
): Promise<MailboxAccount | undefined> {
  const { rows } = await client.query<Row>(
    `SELECT organisation_id, id, provider, from_name, from_address, status, verification_status, credentials_version,
       smtp_host, smtp_port, smtp_security, smtp_user, imap_host, imap_port, imap_security, imap_user,
       secret_ciphertext, secret_wrapped_key, secret_key_id
     FROM outreach.mailboxes WHERE id = $1`,
    [mailboxId],
  );
  const row = rows[0];
  if (!row) return undefined;
  let secrets: MailboxSecrets = {};
  if (row.secret_ciphertext && row.secret_wrapped_key && row.secret_key_id) {
    // Fail closed: without a key provider the secret stays sealed and the mailbox cannot connect.
    if (!box)
      throw new PermanentError(
        'no key provider configured (SECRETS_*): mailbox credentials cannot be opened',
      );
    secrets = await box.openJson<MailboxSecrets>(
      { ciphertext: row.secret_ciphertext, wrappedKey: row.secret_wrapped_key, keyId: row.secret_key_id },
      mailboxSecretBinding(row.organisation_id, row.id),
    );
  }
  return {
    organisationId: row.organisation_id,
    id: row.id,
    provider: row.provider,
    fromName: row.from_name,
    fromAddress: row.from_address,
    status: row.status,
    verificationStatus: row.verification_status,
    credentialsVersion: row.credentials_version,
    smtp: serverFromColumns(row, 'smtp'),
    imap: serverFromColumns(row, 'imap'),
    secrets,
  };
}
