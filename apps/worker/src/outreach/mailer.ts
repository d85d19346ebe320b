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

/**
 * Header fields the relay's DKIM signature covers: nodemailer's default list (dkim/sign.js,
 * RFC 4871 §5.5) plus List-Unsubscribe-Post, which it leaves out. RFC 8058 §4: one-click
 * unsubscribe counts only when both List-Unsubscribe and List-Unsubscribe-Post are signed.
 */
const DKIM_HEADER_FIELDS =
  'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:' +
  'Content-Transfer-Encoding:Content-ID:Content-Description:Resent-Date:Resent-From:Resent-Sender:' +
  'Resent-To:Resent-Cc:Resent-Message-ID:In-Reply-To:References:List-Id:List-Help:List-Unsubscribe:' +
  'List-Subscribe:List-Post:List-Owner:List-Archive:OTP-Token:List-Unsubscribe-Post';

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
        ...(mail.dkim
          ? { dkim: { ...mail.dkim, headerFieldNames: DKIM_HEADER_FIELDS, cacheTreshold: 1024 * 1024 } }
          : {}),
      });
      return { response: String(info.response ?? '') };
    },
    close() {
      transport.close();
    },
  };
}
