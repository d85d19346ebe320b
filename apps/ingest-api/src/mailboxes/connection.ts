import {
  dnsServersResolve,
  guardServer,
  HostRefusedError,
  isOAuth,
  type MailboxProvider,
  type MailboxSecrets,
  type ServerEndpoint,
  type ServerSecurity,
} from '@prospectflow/mailboxes';
import { unprocessable } from '../lib/problem.js';

/** What a client sends for one server; the password is write-only. */
export interface EndpointInput {
  host?: string;
  port?: number;
  security?: ServerSecurity;
  user?: string;
  password?: string;
}

export interface ConnectionInput {
  provider?: MailboxProvider;
  smtp?: EndpointInput;
  imap?: EndpointInput;
  oauth?: { refreshToken: string };
}

export interface Connection {
  provider: MailboxProvider;
  smtp: ServerEndpoint | null;
  imap: ServerEndpoint | null;
}

/** Well-known servers of the OAuth providers (each can be overridden, e.g. by tests). */
const PROVIDER_SERVERS: Partial<
  Record<MailboxProvider, { smtp: Omit<ServerEndpoint, 'user'>; imap: Omit<ServerEndpoint, 'user'> }>
> = {
  google: {
    smtp: { host: 'smtp.gmail.com', port: 465, security: 'tls' },
    imap: { host: 'imap.gmail.com', port: 993, security: 'tls' },
  },
  microsoft: {
    smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls' },
    imap: { host: 'outlook.office365.com', port: 993, security: 'tls' },
  },
};

/** Whether a change touches what verification proved (connection, secrets, or the address). */
export function changesConnection(input: ConnectionInput & { fromAddress?: string }): boolean {
  return ['provider', 'smtp', 'imap', 'oauth', 'fromAddress'].some(
    (k) => (input as Record<string, unknown>)[k] !== undefined,
  );
}

function endpoint(
  field: 'smtp' | 'imap',
  input: EndpointInput | undefined,
  current: ServerEndpoint | null,
  defaults: Omit<ServerEndpoint, 'user'> | undefined,
  fromAddress: string,
  errors: { field: string; code: string; message: string }[],
): ServerEndpoint | null {
  const host = input?.host ?? current?.host ?? defaults?.host;
  const port = input?.port ?? current?.port ?? defaults?.port;
  const security = input?.security ?? current?.security ?? defaults?.security;
  for (const [name, value] of [
    ['host', host],
    ['port', port],
    ['security', security],
  ] as const)
    if (value === undefined)
      errors.push({ field: `${field}.${name}`, code: 'required', message: `${field}.${name} is required.` });
  if (host === undefined || port === undefined || security === undefined) return null;
  return { host, port, security, user: input?.user ?? current?.user ?? fromAddress };
}

/**
 * The stored credentials go only to the servers they were given for: a new host, or a move to
 * `security: none` (the secret in clear), takes the secret that server receives in the same change
 * (its password; an OAuth mailbox's refresh token, whose access tokens both servers get). Otherwise
 * an admin could point a mailbox at their own server and collect a write-only secret from the
 * worker's next login. 422 `secret_required_for_host_change`, `errors[]` naming each secret.
 */
function requireSecretsForNewServers(provider: MailboxProvider, current: Connection, input: ConnectionInput) {
  const errors: { field: string; code: string; message: string }[] = [];
  for (const field of ['smtp', 'imap'] as const) {
    const was = current[field];
    const next = input[field];
    if (!was || !next) continue;
    const moved = next.host !== undefined && next.host.toLowerCase() !== was.host.toLowerCase();
    const inClear = next.security === 'none' && was.security !== 'none';
    if (!moved && !inClear) continue;
    const secret = isOAuth(provider) ? 'oauth.refreshToken' : `${field}.password`;
    const given = isOAuth(provider) ? input.oauth?.refreshToken : next.password;
    if (given || errors.some((e) => e.field === secret)) continue;
    errors.push({
      field: secret,
      code: 'secret_required_for_host_change',
      message: `${field}.${moved ? 'host' : 'security'} changes where the credentials go: give ${secret} in the same request.`,
    });
  }
  if (errors.length)
    throw unprocessable(
      'secret_required_for_host_change',
      'A new server (another host, or no TLS) does not receive the stored credentials: give them again in the same request.',
      { errors },
    );
}

/**
 * The connection a create or change leaves: the input over what is stored, provider defaults,
 * users defaulting to the from-address; 422 listing every missing piece. Secrets are merged the
 * same way (a new SMTP password keeps the stored IMAP one; IMAP defaults to the SMTP password only
 * where no IMAP password is stored: a new mailbox, a switch of provider). `currentSecrets` is null
 * when the stored ones do not open: every secret the mailbox needs must then be given.
 */
export function mergeConnection(
  current: Connection,
  currentSecrets: MailboxSecrets | null,
  input: ConnectionInput,
  fromAddress: string,
): { connection: Connection; secrets: MailboxSecrets } {
  const provider =
    input.provider ??
    (current.provider === 'relay' && (input.smtp || input.imap) ? 'smtp_imap' : current.provider);
  if (provider === 'relay') {
    if (input.smtp || input.imap || input.oauth)
      throw unprocessable(
        'relay_takes_no_servers',
        'A relay mailbox sends through the platform relay: give no smtp, imap or oauth.',
      );
    return { connection: { provider, smtp: null, imap: null }, secrets: {} };
  }
  const errors: { field: string; code: string; message: string }[] = [];
  const switched = provider !== current.provider;
  // After a switch every secret is new anyway (nothing stored is kept).
  if (!switched) requireSecretsForNewServers(provider, current, input);
  const defaults = PROVIDER_SERVERS[provider];
  const server = (field: 'smtp' | 'imap') =>
    endpoint(field, input[field], switched ? null : current[field], defaults?.[field], fromAddress, errors);
  const smtp = server('smtp');
  const imap = server('imap');
  const kept = switched ? {} : currentSecrets;
  let secrets: MailboxSecrets;
  if (isOAuth(provider)) {
    for (const field of ['smtp', 'imap'] as const)
      if (input[field]?.password)
        errors.push({
          field: `${field}.password`,
          code: 'oauth_mailbox',
          message: `A ${provider} mailbox authenticates with oauth.refreshToken, not a password.`,
        });
    secrets = { refreshToken: input.oauth?.refreshToken ?? kept?.refreshToken };
    if (!secrets.refreshToken)
      errors.push({
        field: 'oauth.refreshToken',
        code: 'required',
        message: 'oauth.refreshToken is required.',
      });
  } else {
    if (input.oauth)
      errors.push({
        field: 'oauth',
        code: 'not_oauth',
        message: 'Only google and microsoft mailboxes take oauth.',
      });
    const smtpPassword = input.smtp?.password ?? kept?.smtpPassword;
    // An unreadable stored IMAP password is not replaced by the new SMTP one: it must be given.
    const imapPassword = input.imap?.password ?? (kept ? (kept.imapPassword ?? smtpPassword) : undefined);
    secrets = { smtpPassword, imapPassword };
    if (!smtpPassword)
      errors.push({ field: 'smtp.password', code: 'required', message: 'smtp.password is required.' });
    if (!imapPassword && kept === null)
      errors.push({ field: 'imap.password', code: 'required', message: 'imap.password is required.' });
  }
  if (errors.length)
    throw unprocessable('mailbox_connection_incomplete', 'The mailbox connection is incomplete.', { errors });
  return { connection: { provider, smtp, imap }, secrets };
}

/**
 * SSRF: every server host must resolve to a public address, and a server without TLS is refused,
 * unless the operator allow-list names it.
 */
export async function checkHosts(
  connection: Connection,
  settings: { hostAllowList: string[]; dnsServers: string[] },
): Promise<void> {
  const options = {
    allow: settings.hostAllowList,
    ...(settings.dnsServers.length ? { resolve: dnsServersResolve(settings.dnsServers) } : {}),
  };
  for (const field of ['smtp', 'imap'] as const) {
    const server = connection[field];
    if (!server) continue;
    try {
      await guardServer(server, options);
    } catch (error) {
      if (!(error instanceof HostRefusedError)) throw error;
      const plaintext = error.reason === 'plaintext_refused';
      throw unprocessable(plaintext ? 'mailbox_plaintext_refused' : 'mailbox_host_refused', error.message, {
        field: `${field}.${plaintext ? 'security' : 'host'}`,
        reason: error.reason,
      });
    }
  }
}
