import nodemailer from 'nodemailer';

export interface OutgoingMail {
  from: { name: string; address: string };
  to: string;
  subject: string;
  text: string;
  html?: string;
  messageId: string;
  headers: Record<string, string>;
  /** DKIM signing (relay mail: the sending domain's key). */
  dkim?: { domainName: string; keySelector: string; privateKey: string };
}

export interface SendResult {
  response: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<SendResult>;
  close(): void;
}

// One classification of SMTP failures for every path (see mailboxes/smtp-errors.ts).
export { classifySmtpError, type SmtpFailure } from '../mailboxes/smtp-errors.js';

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
        ...(mail.dkim ? { dkim: { ...mail.dkim, cacheTreshold: 1024 * 1024 } } : {}),
      });
      return { response: String(info.response ?? '') };
    },
    close() {
      transport.close();
    },
  };
}
