import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerSession } from 'smtp-server';
import { type MailAccounts, mailPassword } from './accounts.js';

export interface TestSmtp {
  port: number;
  /** Messages accepted so far (all recipients counted once per message). */
  accepted(): number;
  close(): Promise<void>;
}

export interface TestSmtpOptions {
  accounts: MailAccounts;
  lmtpPort: number;
  /** Who an XOAUTH2 access token belongs to (the test OAuth server). */
  ownerOfAccessToken(token: string): string | undefined;
  hostname?: string;
  /** Plain addresses answered like `answer-…` ones (pnpm dev's demo prospect who replies). */
  answering?: readonly string[];
}

/**
 * Behaviour chosen by the recipient's local part, so any test process can ask for it:
 *   reject-…  550 5.1.1 at RCPT TO (synchronous bounce)
 *   gone-…    551 5.1.6 at RCPT TO (recipient moved: a bounce too)
 *   spam-…    554 5.7.1 after DATA (content refused: not the recipient's fault)
 *   defer-…   451 4.3.0 at RCPT TO (try again later)
 *   bounce-…  accepted, then a DSN (RFC 3464, 5.1.1) is delivered to the sender's INBOX
 *   ooo-…     accepted, then an out-of-office auto-reply (RFC 3834) comes back to the sender
 *   answer-…  accepted, then a human reply (In-Reply-To/References set) comes back to the sender
 *             (also any address listed in `answering`)
 * and by the sender's: nosent-… senders get no copy in their Sent folder (others do, like Gmail);
 * slow-… senders get their 250 only 25 ms after the message was delivered and filed (a wider
 * window for a client to die between the server's acceptance and its own record of it).
 */
type Behaviour = 'reject' | 'gone' | 'spam' | 'defer' | 'bounce' | 'ooo' | 'answer' | 'deliver';
const behaviourOfLocalPart = (address: string): Behaviour =>
  (address.match(/^(reject|gone|spam|defer|bounce|ooo|answer)-/)?.[1] as Behaviour | undefined) ?? 'deliver';

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  return head
    .match(new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im'))?.[1]
    ?.replace(/\r?\n[ \t]+/g, ' ')
    .trim();
}

function headerBlock(raw: string): string {
  return raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
}

/**
 * A submission server in front of Dovecot: AUTH (PLAIN/LOGIN against the account files, XOAUTH2
 * against the OAuth server) is required and the envelope sender must be the logged-in address;
 * accepted mail is delivered to each recipient's INBOX over LMTP, with a copy in the sender's Sent.
 */
export async function startTestSmtp(options: TestSmtpOptions): Promise<TestSmtp> {
  const hostname = options.hostname ?? 'mail.pf.test';
  const answering = new Set(options.answering?.map((a) => a.toLowerCase()));
  const behaviourOf = (address: string): Behaviour =>
    answering.has(address) ? 'answer' : behaviourOfLocalPart(address);
  const lmtp = nodemailer.createTransport({
    lmtp: true,
    host: '127.0.0.1',
    port: options.lmtpPort,
    pool: false,
  } as never);
  const deliver = async (from: string, to: string, raw: string | Buffer) => {
    // LMTP answers per recipient after DATA: a refusal there is in `rejected`, not thrown.
    const info = await lmtp.sendMail({ envelope: { from, to: [to] }, raw });
    if (info.rejected.length)
      throw new Error(`LMTP refused ${to}: ${JSON.stringify(info.rejectedErrors ?? info.response)}`);
  };
  let accepted = 0;

  const reactions: Record<
    Behaviour,
    ((sender: string, rcpt: string, raw: string) => string | undefined) | undefined
  > = {
    reject: undefined,
    gone: undefined,
    spam: undefined,
    defer: undefined,
    deliver: undefined,
    bounce: (sender, rcpt, raw) => dsn(hostname, sender, rcpt, raw),
    ooo: (sender, rcpt, raw) =>
      reply(rcpt, sender, raw, 'Automatic reply: ', 'I am out of the office until Monday.', {
        'Auto-Submitted': 'auto-replied',
        'X-Autoreply': 'yes',
      }),
    answer: (sender, rcpt, raw) => reply(rcpt, sender, raw, 'Re: ', 'Thanks, happy to talk next week.', {}),
  };

  const server = new SMTPServer({
    name: hostname,
    logger: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN', 'XOAUTH2'],
    onAuth(auth: SMTPServerAuthentication, _session, callback) {
      const user = auth.username?.toLowerCase() ?? '';
      // A provider throttling logins: a temporary refusal, whatever the password.
      if (user.startsWith('throttled-'))
        return callback(smtpError(454, '4.7.0 Too many login attempts, please try again later'));
      const ok =
        auth.method === 'XOAUTH2'
          ? options.ownerOfAccessToken(auth.accessToken ?? '') === user
          : mailPassword(options.accounts, user) === auth.password;
      if (ok) return callback(null, { user });
      if (auth.method === 'XOAUTH2')
        return callback(null, {
          data: { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' },
        });
      callback(smtpError(535, '5.7.8 Username and Password not accepted'));
    },
    onMailFrom(address, session: SMTPServerSession, callback) {
      if (!session.user) return callback(smtpError(530, '5.7.0 Authentication required'));
      if (address.address.toLowerCase() !== session.user)
        return callback(smtpError(553, `5.7.1 Sender address rejected: not owned by user ${session.user}`));
      callback();
    },
    onRcptTo(address, _session, callback) {
      const behaviour = behaviourOf(address.address.toLowerCase());
      if (behaviour === 'reject')
        return callback(smtpError(550, '5.1.1 The email account that you tried to reach does not exist'));
      if (behaviour === 'gone')
        return callback(smtpError(551, '5.1.6 User not local; the recipient has moved'));
      if (behaviour === 'defer')
        return callback(smtpError(451, '4.3.0 Temporary local problem, try again later'));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        // Read the envelope now: smtp-server resets it once the DATA callback has run.
        const sender = (session.envelope.mailFrom as { address: string }).address.toLowerCase();
        const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        if (recipients.some((r) => behaviourOf(r) === 'spam'))
          return callback(smtpError(554, '5.7.1 Message rejected: content looks like spam'));
        try {
          for (const rcpt of recipients) await deliver(sender, rcpt, raw);
          if (!sender.startsWith('nosent-')) {
            const [local, domain] = sender.split('@');
            await deliver(sender, `${local}+Sent@${domain}`, raw);
          }
        } catch (error) {
          return callback(
            smtpError(451, `4.3.0 delivery to the mail store failed: ${(error as Error).message}`),
          );
        }
        accepted += 1;
        if (sender.startsWith('slow-')) await new Promise((r) => setTimeout(r, 25));
        callback(null, `2.0.0 Ok: queued as ${randomBytes(5).toString('hex')}`);
        // Reactions (bounces, auto-replies, answers) arrive after the submission, like real ones.
        for (const rcpt of recipients) {
          const made = reactions[behaviourOf(rcpt)]?.(sender, rcpt, raw);
          if (made)
            setTimeout(
              () => deliver(behaviourOf(rcpt) === 'bounce' ? '' : rcpt, sender, made).catch(() => {}),
              50,
            );
        }
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.server.address() as AddressInfo).port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        lmtp.close();
        server.close(() => resolve());
      }),
  };
}

const CRLF = '\r\n';
const date = () => new Date().toUTCString().replace('GMT', '+0000');

/** A delivery status notification (RFC 3464) for `rcpt`, returning the original headers. */
function dsn(hostname: string, sender: string, rcpt: string, raw: string): string {
  const boundary = `dsn_${randomBytes(8).toString('hex')}`;
  return [
    `From: Mail Delivery Subsystem <mailer-daemon@${hostname}>`,
    `To: ${sender}`,
    `Subject: Delivery Status Notification (Failure)`,
    `Date: ${date()}`,
    `Message-ID: <dsn.${randomBytes(8).toString('hex')}@${hostname}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Your message to ${rcpt} could not be delivered: the account does not exist.`,
    `(This text mentions someone-else@example.org on purpose: the recipient comes from the report.)`,
    '',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${hostname}`,
    `Arrival-Date: ${date()}`,
    '',
    `Original-Recipient: rfc822; ${rcpt}`,
    `Final-Recipient: rfc822; ${rcpt}`,
    'Action: failed',
    'Status: 5.1.1',
    `Remote-MTA: dns; mx.${rcpt.split('@')[1]}`,
    'Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach does not exist',
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    headerBlock(raw),
    '',
    `--${boundary}--`,
    '',
  ].join(CRLF);
}

function reply(
  from: string,
  to: string,
  raw: string,
  prefix: string,
  text: string,
  extra: Record<string, string>,
): string {
  const original = header(raw, 'message-id') ?? '';
  const references = [header(raw, 'references'), original].filter(Boolean).join(' ');
  const subject = (header(raw, 'subject') ?? '').replace(/^(re|automatic reply):\s*/i, '');
  return [
    `From: ${from}`,
    `To: ${to}`,
    `Subject: ${prefix}${subject}`,
    `Date: ${date()}`,
    `Message-ID: <reply.${randomBytes(8).toString('hex')}@${from.split('@')[1]}>`,
    `In-Reply-To: ${original}`,
    `References: ${references}`,
    ...Object.entries(extra).map(([k, v]) => `${k}: ${v}`),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    text,
    '',
  ].join(CRLF);
}
