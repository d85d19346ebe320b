/**
 * What a failed SMTP submission means for the send (one definition, for the relay and for
 * connected mailboxes alike):
 *   retry    — 4xx answers (at AUTH too), timeouts, connection and DNS problems: back off, same mailbox.
 *   auth     — the provider refused *our* identity (AUTH 5xx such as 535, no/expired OAuth token,
 *              TLS/config failure, a 5xx to MAIL FROM but 552): the mailbox goes to `error` and its sends wait.
 *   bounce   — a 5xx to RCPT TO (550, 551, 553 …): the recipient is gone; bounce and suppress.
 *   rejected — a 5xx after DATA (content or policy): not the recipient's fault and not worth a
 *              blind retry; the message fails and the sequence pauses.
 *   unproven — refused by us before connecting: the from-address is not (or no longer) proved.
 *              Nothing left; the send waits for the mailbox's verification.
 * Classified by the SMTP command that failed, not by the code alone: 5.7.x means "auth" at AUTH
 * (Exchange's 5.7.30 basic-auth refusal) but a policy refusal at RCPT or DATA.
 */
export type SmtpFailure =
  | { kind: 'retry'; detail: string }
  | { kind: 'auth'; detail: string }
  | { kind: 'bounce'; detail: string; responseCode: number }
  | { kind: 'rejected'; detail: string; responseCode: number }
  | { kind: 'unproven'; detail: string };

interface NodemailerError {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/** Our side of the identity: credentials, tokens, TLS, settings. Never a recipient problem. */
const IDENTITY_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2', 'ETLS', 'ECONFIG']);

export function classifySmtpError(error: unknown): SmtpFailure {
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
  // 552 at MAIL FROM is the SIZE limit (the message, not the sender); other 5xx refuse the sender.
  if (command === 'MAIL FROM')
    return code === 552 ? { kind: 'rejected', detail, responseCode: code } : { kind: 'auth', detail };
  if (command === 'RCPT TO') return { kind: 'bounce', detail, responseCode: code };
  if (command === 'DATA' || command === 'DATA END' || command === '.')
    return { kind: 'rejected', detail, responseCode: code };
  // A 5xx with no command (older transports): recipient codes bounce, the rest is rejected.
  return [550, 551, 553].includes(code)
    ? { kind: 'bounce', detail, responseCode: code }
    : { kind: 'rejected', detail, responseCode: code };
}

/** Thrown before any byte leaves when the from-address is not one the organisation proved. */
export class UnprovenSenderError extends Error {
  readonly code = 'EUNPROVEN';
  constructor(message: string) {
    super(message);
    this.name = 'UnprovenSenderError';
  }
}
