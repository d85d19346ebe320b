import { isIP } from 'node:net';
import {
  guardServer,
  type HostGuardOptions,
  isOAuth,
  type OAuthTokenCache,
  type ServerEndpoint,
} from '@prospectflow/mailboxes';
import type { ImapFlowOptions } from 'imapflow';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { MailboxAccount } from './account.js';

/** What connecting to user mailboxes needs: the SSRF guard's settings and the shared OAuth token cache. */
export interface MailAccess {
  guard: HostGuardOptions;
  tokens: OAuthTokenCache;
  /** Socket timeouts, ms (tests shorten them). */
  timeoutMs?: number;
}

/** The OAuth cache key: a new refresh token comes with a new credentials version. */
export const tokenKey = (account: MailboxAccount) => `${account.id}:${account.credentialsVersion}`;

async function accessToken(account: MailboxAccount, access: MailAccess, renew: boolean): Promise<string> {
  const { provider } = account;
  if (!isOAuth(provider)) throw new Error(`mailbox ${account.id} does not authenticate with OAuth`);
  if (renew) access.tokens.invalidate(tokenKey(account));
  return await access.tokens.accessToken({
    provider,
    key: tokenKey(account),
    // Only a fallback: the cache reads the stored token before refreshing (services.ts), so a
    // pooled transport's account, read minutes ago, does not pin a token rotated since.
    refreshToken: account.secrets.refreshToken ?? '',
    mailbox: {
      organisationId: account.organisationId,
      id: account.id,
      credentialsVersion: account.credentialsVersion,
    },
  });
}

/** Resolved and SSRF-checked (plain text only to allow-listed hosts): connect to this address, present the name for TLS. */
async function target(endpoint: ServerEndpoint, access: MailAccess) {
  const address = await guardServer(endpoint, access.guard);
  return { host: address, servername: isIP(endpoint.host) ? undefined : endpoint.host };
}

/**
 * How long one exchange with a mailbox's server may take (a submission through its pool, waiting
 * for a connection included; a Sent-folder search from login to logout): the socket timeouts only
 * bound silence, not a server that keeps sending a byte now and then.
 */
export const exchangeDeadlineMs = (access: Pick<MailAccess, 'timeoutMs'>) => 4 * (access.timeoutMs ?? 30_000);

/**
 * `work`, or ETIMEDOUT (`what` … within N s) once `ms` have passed, `cut` (closing the connection)
 * called then: a server that sends a byte now and then is never idle, so no socket timeout would
 * end the exchange. ETIMEDOUT is a lost connection to the callers: retried later.
 */
export function withinDeadline<T>(work: Promise<T>, ms: number, cut: () => void, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      cut();
      reject(Object.assign(new Error(`${what} within ${Math.round(ms / 1000)} s`), { code: 'ETIMEDOUT' }));
    }, ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** nodemailer pool options for a mailbox's own SMTP server (bounded: the pool is per mailbox). */
export async function smtpOptions(account: MailboxAccount, access: MailAccess): Promise<SMTPPool.Options> {
  const smtp = account.smtp;
  if (!smtp) throw new Error(`mailbox ${account.id} has no SMTP settings`);
  const { host, servername } = await target(smtp, access);
  const timeout = access.timeoutMs ?? 30_000;
  return {
    pool: true,
    maxConnections: 2,
    maxMessages: 100,
    host,
    port: smtp.port,
    secure: smtp.security === 'tls',
    requireTLS: smtp.security === 'starttls',
    ignoreTLS: smtp.security === 'none',
    tls: { servername, minVersion: 'TLSv1.2' },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: Math.max(timeout, 60_000),
    auth: isOAuth(account.provider)
      ? {
          type: 'OAuth2',
          user: smtp.user,
          // nodemailer asks again (renew) when the server refuses a token: one shared cache. Its
          // errors pass as they are (nodemailer sets code EAUTH on the same object): failures.ts
          // tells an outage from a refused token by their class.
          provisionCallback: (
            _user: string,
            renew: boolean,
            callback: (e: Error | null, t?: string) => void,
          ) => {
            accessToken(account, access, renew).then(
              (token) => callback(null, token),
              (error: Error) => callback(error),
            );
          },
        }
      : { user: smtp.user, pass: account.secrets.smtpPassword ?? '' },
  } as SMTPPool.Options;
}

/**
 * What one IMAP response may hold, in bytes. imapflow's defaults (a 1 GB literal, a 2 GB response)
 * let a server of a user's choosing make the shared worker buffer gigabytes; we never ask for more
 * than a few parts of 1 MB (inbox.ts) or a header block per message, and a SEARCH answer of a
 * million UIDs is under 8 MB.
 */
export const IMAP_LIMITS = {
  maxLiteralSize: 8 * 1024 * 1024,
  maxLineLength: 32 * 1024 * 1024,
  maxResponseSize: 64 * 1024 * 1024,
} as const;

/** imapflow options for a mailbox's IMAP server. */
export async function imapOptions(account: MailboxAccount, access: MailAccess): Promise<ImapFlowOptions> {
  const imap = account.imap;
  if (!imap) throw new Error(`mailbox ${account.id} has no IMAP settings`);
  const { host, servername } = await target(imap, access);
  const timeout = access.timeoutMs ?? 30_000;
  return {
    host,
    port: imap.port,
    secure: imap.security === 'tls',
    doSTARTTLS: imap.security === 'starttls' ? true : imap.security === 'none' ? false : undefined,
    servername,
    tls: { minVersion: 'TLSv1.2' },
    auth: isOAuth(account.provider)
      ? { user: imap.user, accessToken: await accessToken(account, access, false) }
      : { user: imap.user, pass: account.secrets.imapPassword ?? '' },
    logger: false,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: Math.max(timeout, 300_000),
    disableAutoIdle: true,
    ...IMAP_LIMITS,
  };
}
