import nodemailer from 'nodemailer';

export interface OutgoingMail {
  from: { name: string; address: string };
  to: string;
  subject: string;
  text: string;
  html?: string;
  messageId: string;
  headers: Record<string, string>;
}

export interface SendResult {
  response: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<SendResult>;
  close(): void;
}

export type SmtpFailure =
  | { kind: 'retry'; detail: string }
  | { kind: 'bounce'; detail: string; responseCode: number }
  | { kind: 'auth'; detail: string };

/**
 * Maps nodemailer errors: authentication → pause the mailbox; a 5xx answer → hard bounce;
 * 4xx answers, timeouts and connection problems → retry later.
 */
export function classifySmtpError(error: unknown): SmtpFailure {
  const e = error as { code?: string; responseCode?: number; response?: string; message?: string };
  const detail = e.response ?? e.message ?? String(error);
  if (e.code === 'EAUTH' || e.responseCode === 535 || e.responseCode === 534) return { kind: 'auth', detail };
  if (typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600) {
    return { kind: 'bounce', detail, responseCode: e.responseCode };
  }
  return { kind: 'retry', detail };
}

export interface SmtpMailerOptions {
  /** smtp://user:pass@host:port or smtps://… */
  url: string;
  maxConnections?: number;
}

/** Pooled SMTP (reused connections); one transport per worker process. */
export function createSmtpMailer(options: SmtpMailerOptions): Mailer {
  const transport = nodemailer.createTransport({
    url: options.url,
    pool: true,
    maxConnections: options.maxConnections ?? 5,
    maxMessages: 1000,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  return {
    async send(mail) {
      const info = await transport.sendMail({
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        messageId: mail.messageId,
        headers: mail.headers,
      });
      return { response: String(info.response ?? '') };
    },
    close() {
      transport.close();
    },
  };
}
