import type { OAuthProvider } from './oauth-tokens.js';

/**
 * A mailbox's connection, as the API stores it and the worker connects with it: defined once so
 * the two never disagree on the providers, the server settings or how credentials are sealed.
 */

/** outreach.mailboxes.provider: the platform relay, own SMTP/IMAP servers, or an OAuth provider. */
export type MailboxProvider = 'relay' | 'smtp_imap' | OAuthProvider;

/** How a connection to a server is secured (outreach.mailboxes.smtp_security / imap_security). */
export type ServerSecurity = 'tls' | 'starttls' | 'none';

/** One server of a mailbox (SMTP or IMAP). */
export interface ServerEndpoint {
  host: string;
  port: number;
  security: ServerSecurity;
  user: string;
}

/** One server's columns in outreach.mailboxes (`smtp_host`, `smtp_port`, … and the same for imap). */
export type ServerColumns = {
  [C in `${'smtp' | 'imap'}_${'host' | 'port' | 'security' | 'user'}`]: C extends `${string}_port`
    ? number | null
    : C extends `${string}_security`
      ? ServerSecurity | null
      : string | null;
};

/** A server from its stored columns; null unless host, port, security and user are all set. */
export function serverFromColumns(row: ServerColumns, server: 'smtp' | 'imap'): ServerEndpoint | null {
  const host = row[`${server}_host`];
  const port = row[`${server}_port`];
  const security = row[`${server}_security`];
  const user = row[`${server}_user`];
  return host && port && security && user ? { host, port, security, user } : null;
}

/** What a mailbox's sealed secret holds once opened (never logged, never returned). */
export interface MailboxSecrets {
  smtpPassword?: string;
  imapPassword?: string;
  /** OAuth mailboxes (google, microsoft). */
  refreshToken?: string;
}

/** google and microsoft mailboxes authenticate with an OAuth refresh token (XOAUTH2), not a password. */
export const isOAuth = (provider: MailboxProvider): provider is OAuthProvider =>
  provider === 'google' || provider === 'microsoft';
