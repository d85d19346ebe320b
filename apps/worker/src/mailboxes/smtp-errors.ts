import { oauthFailure, secretsFailure } from './failures.js';

/**
 * What a failed SMTP submission means for the send (one definition, for the relay and for
 * connected mailboxes alike):
 *   retry    — 4xx answers (at AUTH too), timeouts, connection and DNS problems, an OAuth token
 *              endpoint down or throttling (429, 5xx, timeout): back off, same mailbox.
 *   auth     — the provider refused *us*, not this message: a 5xx at the greeting, EHLO/HELO/LHLO or
 *              STARTTLS (our IP or host blocked), at AUTH (535, Exchange's 5.7.30), a refresh token
 *              refused (`invalid_grant`) or our OAuth client refused/unconfigured (the detail says
 *              an operator must act), TLS/config failure, a 5xx to MAIL FROM but 552: the mailbox
 *              goes to `error` and its sends wait. Nothing was sent, so nobody bounces.
 *   bounce   — a 5xx to RCPT TO (550, 551, 553 …) but 5.7.x: the recipient is gone; bounce and suppress.
 *   rejected — a 5xx after DATA (content or policy), or a 5.7.x policy refusal at RCPT (blocklisted
 *              sender, "blocked using Spamhaus"): not the recipient's fault and not worth a blind
 *              retry; the message fails and the sequence pauses; the address is not suppressed.
 *   unproven — refused by us before connecting: the from-address is not (or no longer) proved.
 *              Nothing left; the send waits for the mailbox's verification.
 *   secrets_unavailable — the key that sealed the mailbox's credentials (or the relay domain's DKIM
 *              key) is missing here: the send waits, attempts untouched, and resumes once it is back.
 *   secrets_unreadable  — they do not open at all (damaged, copied): as `auth`, the mailbox goes to
 *              `error` (`secrets:secrets_unreadable`) until new credentials verify.
 * Classified by the SMTP command that failed, not by the code alone: 5.7.x means "auth" at AUTH
 * but a policy refusal at RCPT or DATA.
 */
export type SmtpFailure =
  | { kind: 'retry'; detail: string }
  | { kind: 'auth'; detail: string }
  | { kind: 'bounce'; detail: string; responseCode: number }
  | { kind: 'rejected'; detail: string; responseCode: number }
  | { kind: 'unproven'; detail: string }
  | { kind: 'secrets_unavailable'; detail: string }
  | { kind: 'secrets_unreadable'; detail: string };

interface NodemailerError {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/** Our side of the identity: credentials, tokens, TLS, settings. Never a recipient problem. */
const IDENTITY_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2', 'ETLS', 'ECONFIG']);
/** The session before any envelope (nodemailer's command names): a 5xx there refuses the client. */
const SESSION_COMMANDS = new Set(['CONN', 'EHLO', 'HELO', 'LHLO', 'STARTTLS']);
/** RFC 3463 X.7.X, "security or policy status", in the answer's enhanced status code. */
const POLICY_STATUS = /^\d{3}[ -]5\.7\.\d{1,3}\b/;

export function classifySmtpError(error: unknown): SmtpFailure {
  const unopened = secretsFailure(error);
  if (unopened) return { kind: unopened.kind, detail: unopened.answer };
  // Before the codes: nodemailer reports any token failure as EAUTH.
  const oauth = oauthFailure(error);
  if (oauth) return { kind: oauth.kind === 'oauth_unavailable' ? 'retry' : 'auth', detail: oauth.answer };
  const e = (error ?? {}) as NodemailerError;
  const detail = (e.response ?? e.message ?? String(error)).slice(0, 1000);
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const command = (e.command ?? '').toUpperCase();
  const permanent = code !== undefined && code >= 500 && code < 600;
  if (e.code === 'EUNPROVEN') return { kind: 'unproven', detail };
  // A 4xx is temporary whatever the command, AUTH included (454 "try again later", 421 throttling):
  // nodemailer reports any failed AUTH as EAUTH, so the code is read before the error's name.
  if (code !== undefined && code >= 400 && code < 500) return { kind: 'retry', detail };
  if (e.code && IDENTITY_CODES.has(e.code)) return { kind: 'auth', detail };
  if (command.startsWith('AUTH') && permanent) return { kind: 'auth', detail };
  // 530 "authentication required", 534 "mechanism too weak", 535 "credentials invalid" — wherever they come.
  if (code === 530 || code === 534 || code === 535) return { kind: 'auth', detail };
  if (!permanent) return { kind: 'retry', detail };
  if (SESSION_COMMANDS.has(command)) return { kind: 'auth', detail };
  // 552 at MAIL FROM is the SIZE limit (the message, not the sender); other 5xx refuse the sender.
  if (command === 'MAIL FROM')
    return code === 552 ? { kind: 'rejected', detail, responseCode: code } : { kind: 'auth', detail };
  const policy = POLICY_STATUS.test(e.response ?? '');
  if (command === 'RCPT TO')
    return policy
      ? { kind: 'rejected', detail, responseCode: code }
      : { kind: 'bounce', detail, responseCode: code };
  if (command === 'DATA' || command === 'DATA END' || command === '.')
    return { kind: 'rejected', detail, responseCode: code };
  // A 5xx with no command (older transports): recipient codes bounce unless 5.7.x, the rest is rejected.
  return [550, 551, 553].includes(code) && !policy
    ? { kind: 'bounce', detail, responseCode: code }
    : { kind: 'rejected', detail, responseCode: code };
}

/** nodemailer's codes for a connection that could not be made or broke off (no SMTP answer). */
const CONNECTION_CODES = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS']);

/**
 * Whether the server could not be reached at all: a mailbox's pool connects to the address
 * resolved when it was built (the SSRF guard's), so after such a failure it is rebuilt and the
 * host resolved again — a provider that moved its server is reached at its new address.
 */
export function lostConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && CONNECTION_CODES.has(code);
}

/** Thrown before any byte leaves when the from-address is not one the organisation proved. */
export class UnprovenSenderError extends Error {
  readonly code = 'EUNPROVEN';
  constructor(message: string) {
    super(message);
    this.name = 'UnprovenSenderError';
  }
}
