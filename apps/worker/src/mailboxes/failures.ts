import {
  HostRefusedError,
  OAuthClientRefused,
  OAuthReauthRequired,
  OAuthTemporaryFailure,
} from '@prospectflow/mailboxes';
import { DecryptionError, KeyUnavailableError } from '@prospectflow/secrets';

/** Why a connection step failed, as shown on the mailbox (with the server's own answer). */
export type FailureKind =
  | 'auth'
  | 'tls'
  | 'dns'
  | 'blocked_host'
  | 'timeout'
  | 'connection'
  | 'sender_refused'
  | 'not_delivered'
  | 'domain_not_proved'
  | 'secrets_unreadable'
  | 'secrets_unavailable'
  | 'oauth_client'
  | 'oauth_unavailable'
  | 'error';

export interface StepFailure {
  kind: FailureKind;
  /** The server's answer or the library's message: never a secret. */
  answer: string;
}

/**
 * Stored secrets (a mailbox's credentials, a relay domain's DKIM key) that do not open — one
 * definition for verification, sending and polling. Unreadable: damaged or copied from another
 * record, only entering them again helps. Unavailable: the key that wrapped them is missing here
 * (removed too early, KMS key disabled); the secret may be intact and restoring the key is enough.
 */
export function secretsFailure(
  error: unknown,
): { kind: 'secrets_unreadable' | 'secrets_unavailable'; answer: string } | undefined {
  if (error instanceof DecryptionError)
    return {
      kind: 'secrets_unreadable',
      answer: 'the stored credentials do not open (damaged, or copied from another record): enter them again',
    };
  if (error instanceof KeyUnavailableError) return { kind: 'secrets_unavailable', answer: error.message };
  return undefined;
}

/**
 * A failed OAuth token refresh — one definition for sending, verification and polling. Found on
 * the error or its causes: nodemailer hands the provisionCallback's error on as `EAUTH` (command
 * `AUTH XOAUTH2`), so its code alone would say "auth" for an outage too.
 *   auth              — `invalid_grant`: the user must reconnect.
 *   oauth_client      — our OAuth client was refused or is not configured: an operator must fix it.
 *   oauth_unavailable — outage, throttling, timeout: temporary, retry later.
 */
export function oauthFailure(
  error: unknown,
): { kind: 'auth' | 'oauth_client' | 'oauth_unavailable'; answer: string } | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof OAuthReauthRequired) return { kind: 'auth', answer: e.message };
    if (e instanceof OAuthClientRefused)
      return {
        kind: 'oauth_client',
        answer: `${e.message}: an operator must fix the OAuth client settings, reconnecting does not help`,
      };
    if (e instanceof OAuthTemporaryFailure) return { kind: 'oauth_unavailable', answer: e.message };
  }
  return undefined;
}

const TLS = /certificate|self[- ]signed|SSL|TLS|ERR_SSL|CERT_|handshake/i;

/** Maps an error from nodemailer or imapflow (or our guard and token cache) to a step failure. */
export function describeFailure(error: unknown): StepFailure {
  const e = error as {
    code?: string;
    command?: string;
    response?: string;
    responseText?: string;
    serverResponseCode?: string;
    authenticationFailed?: boolean;
    message?: string;
  };
  const answer = String(e.response ?? e.responseText ?? e.message ?? error).slice(0, 500);
  const unopened = secretsFailure(error);
  if (unopened) return unopened;
  if (error instanceof HostRefusedError)
    return { kind: error.reason === 'not_resolvable' ? 'dns' : 'blocked_host', answer: error.message };
  const oauth = oauthFailure(error);
  if (oauth) return oauth;
  if (e.code === 'EAUTH' || e.code === 'EOAUTH2' || e.authenticationFailed || e.command === 'AUTH')
    return { kind: 'auth', answer };
  if (e.command === 'MAIL FROM') return { kind: 'sender_refused', answer };
  if (e.code === 'EDNS' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return { kind: 'dns', answer };
  // Before the TLS test: imapflow's GREETING_TIMEOUT says "Maybe should use TLS?" on a plain connection.
  if (/TIMEDOUT|TIMEOUT/i.test(e.code ?? '')) return { kind: 'timeout', answer };
  if (e.code === 'ETLS' || TLS.test(`${e.code ?? ''} ${answer}`)) return { kind: 'tls', answer };
  if (/timed? ?out/i.test(answer)) return { kind: 'timeout', answer };
  if (
    /ECONNREFUSED|ECONNRESET|ECONNECTION|ESOCKET|EHOSTUNREACH|NoConnection|ClosedAfterConnect/i.test(
      e.code ?? '',
    )
  )
    return { kind: 'connection', answer };
  return { kind: 'error', answer };
}

/**
 * Whether applying one inbound message failed because of that message's own content: PostgreSQL's
 * data exceptions (class 22: a malformed value) and integrity violations (class 23: a CHECK or a
 * key the message's values break). Retrying such a message fails the same way forever, so the
 * poller skips it. Anything else (connection lost, database down, a timeout, a bug) leaves the
 * checkpoint where it is, so the message is read again on the next poll.
 */
export function isMessageFault(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}
