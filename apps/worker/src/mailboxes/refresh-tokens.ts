import { mailboxSecretBinding, type TokenRequest } from '@prospectflow/mailboxes';
import type { SecretBox } from '@prospectflow/secrets';
import type { Pool } from 'pg';
import { inTenant } from '../queue/sql.js';
import { loadAccount } from './account.js';

/**
 * Stores a refresh token the provider rotated (Microsoft may answer a refresh with a new one and
 * retire the old): sealed like the API seals it, in place of the old one, for the same credentials
 * version — a rotation is not a change of credentials, so the mailbox stays verified. A row whose
 * credentials changed meanwhile keeps the user's new ones.
 */
export function storeRotatedRefreshToken(pool: Pool, box: SecretBox) {
  return async (request: TokenRequest, refreshToken: string): Promise<void> => {
    const mailbox = request.mailbox;
    if (!mailbox) return;
    const sealed = await box.sealJson(
      { refreshToken },
      mailboxSecretBinding(mailbox.organisationId, mailbox.id),
    );
    await inTenant(pool, mailbox.organisationId, (client) =>
      client.query(
        `UPDATE outreach.mailboxes SET secret_ciphertext = $3, secret_wrapped_key = $4, secret_key_id = $5
         WHERE id = $1 AND credentials_version = $2`,
        [mailbox.id, mailbox.credentialsVersion, sealed.ciphertext, sealed.wrappedKey, sealed.keyId],
      ),
    );
  };
}

/**
 * Reads the refresh token stored for the mailbox now (undefined: gone, or its credentials changed):
 * with several worker processes the stored one is the truth, another process may have rotated the
 * token since this one read the mailbox (a pooled transport keeps its account for minutes).
 */
export function loadStoredRefreshToken(pool: Pool, box: SecretBox) {
  return async (request: TokenRequest): Promise<string | undefined> => {
    const mailbox = request.mailbox;
    if (!mailbox) return undefined;
    const account = await inTenant(pool, mailbox.organisationId, (client) =>
      loadAccount(client, mailbox.id, box),
    );
    return account?.credentialsVersion === mailbox.credentialsVersion
      ? account.secrets.refreshToken
      : undefined;
  };
}
