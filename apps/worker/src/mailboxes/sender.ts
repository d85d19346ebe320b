import { dkimSecretBinding, type MailboxProvider } from '@prospectflow/mailboxes';
import type { Pool } from 'pg';
import type { Mailer, OutgoingMail, SendResult } from '../outreach/mailer.js';
import { inTenant } from '../queue/sql.js';
import { loadAccount } from './account.js';
import { exchangeDeadlineMs, smtpOptions, withinDeadline } from './connect.js';
import { findInSent, type SentCheck } from './sent-folder.js';
import type { MailServices } from './services.js';
import { lostConnection, UnprovenSenderError } from './smtp-errors.js';

/** The mailbox columns a send needs (the row send_step_state returns as JSON). */
export interface SendingMailbox {
  id: string;
  organisation_id: string;
  provider: MailboxProvider;
  from_address: string;
  verification_status: string;
  credentials_version: number;
}

interface DkimOptions {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

const DKIM_CACHE_MS = 60_000;

/**
 * The one place mail leaves the worker. Fails closed before any byte is sent unless the
 * from-address is one the organisation proved: a verified connected mailbox (sent through its own
 * pooled SMTP transport and credentials), or a relay mailbox of a DNS-proved sending domain (sent
 * through the platform relay, DKIM-signed with that domain's key).
 */
export class MailboxSender {
  readonly #dkim = new Map<string, { at: number; options: Promise<DkimOptions | undefined> }>();

  constructor(
    private readonly mail: MailServices,
    private readonly relay: Mailer,
    private readonly now: () => number = Date.now,
  ) {}

  /** `pool`: the worker's database pool (credentials and DKIM keys are read in the mailbox's organisation). */
  async send(pool: Pool, mailbox: SendingMailbox, message: OutgoingMail): Promise<SendResult> {
    assertProvenSender(mailbox, message);
    if (mailbox.provider === 'relay') {
      const dkim = await this.#dkimFor(pool, mailbox);
      if (!dkim)
        throw new UnprovenSenderError(
          `${mailbox.from_address}: its domain is not proved (DNS TXT) for the platform relay`,
        );
      return await this.relay.send({ ...message, dkim });
    }
    const build = async () => {
      const account = await inTenant(pool, mailbox.organisation_id, (c) =>
        loadAccount(c, mailbox.id, this.mail.box),
      );
      // Read again with the secrets: the row the task saw may be older than what it now opens.
      if (
        account?.verificationStatus !== 'verified' ||
        !sameAddress(account.fromAddress, mailbox.from_address)
      )
        throw new UnprovenSenderError(
          `mailbox ${mailbox.id} is no longer verified for ${mailbox.from_address}`,
        );
      return await smtpOptions(account, this.mail.access);
    };
    try {
      // Held for the whole send: the pool is not closed under it (bound, new credentials version).
      const info = await this.mail.transports.use(
        mailbox.id,
        mailbox.credentials_version,
        build,
        (transport) =>
          withinDeadline(
            transport.sendMail({
              from: message.from,
              to: message.to,
              subject: message.subject,
              text: message.text,
              html: message.html,
              messageId: message.messageId,
              headers: message.headers,
            }),
            exchangeDeadlineMs(this.mail.access),
            // Ends the stuck connection too (and fails this pool's other sends: they are retried).
            () => (transport.close as (options: { force: boolean }) => void)({ force: true }),
            'the SMTP server did not finish the submission',
          ),
      );
      return { response: String(info.response ?? '') };
    } catch (error) {
      // The pool keeps the address resolved when it was built: the next send resolves again.
      if (lostConnection(error)) this.forget(mailbox.id);
      throw error;
    }
  }

  /**
   * Whether an earlier attempt's message reached the provider: its Message-ID in the mailbox's
   * Sent folder. Undefined for relay mailboxes (no inbox to look in).
   */
  async findSent(pool: Pool, mailbox: SendingMailbox, messageId: string): Promise<SentCheck | undefined> {
    if (mailbox.provider === 'relay') return undefined;
    const account = await inTenant(pool, mailbox.organisation_id, (c) =>
      loadAccount(c, mailbox.id, this.mail.box),
    );
    if (!account?.imap) return undefined;
    return await findInSent(account, this.mail.access, messageId);
  }

  /** Pools of a mailbox whose provider refused our credentials: the next send builds afresh. */
  forget(mailboxId: string): void {
    this.mail.transports.close(mailboxId);
  }

  #dkimFor(pool: Pool, mailbox: SendingMailbox): Promise<DkimOptions | undefined> {
    const domain = mailbox.from_address.split('@')[1]!.toLowerCase();
    const key = `${mailbox.organisation_id}:${domain}`;
    const cached = this.#dkim.get(key);
    if (cached && this.now() - cached.at < DKIM_CACHE_MS) return cached.options;
    const options = this.#loadDkim(pool, mailbox.organisation_id, domain);
    options.catch(() => this.#dkim.get(key)?.options === options && this.#dkim.delete(key));
    this.#dkim.set(key, { at: this.now(), options });
    return options;
  }

  async #loadDkim(pool: Pool, organisationId: string, domain: string): Promise<DkimOptions | undefined> {
    const row = await inTenant(pool, organisationId, async (c) => {
      const { rows } = await c.query<{
        id: string;
        dkim_selector: string;
        dkim_ciphertext: Buffer;
        dkim_wrapped_key: Buffer;
        dkim_key_id: string;
      }>(
        `SELECT id, dkim_selector, dkim_ciphertext, dkim_wrapped_key, dkim_key_id FROM outreach.sending_domains
         WHERE domain = $1 AND verified_at IS NOT NULL`,
        [domain],
      );
      return rows[0];
    });
    if (!row) return undefined;
    if (!this.mail.box)
      throw new UnprovenSenderError('no key provider configured (SECRETS_*): the DKIM key cannot be opened');
    const privateKey = await this.mail.box.open(
      { ciphertext: row.dkim_ciphertext, wrappedKey: row.dkim_wrapped_key, keyId: row.dkim_key_id },
      dkimSecretBinding(organisationId, row.id),
    );
    return { domainName: domain, keySelector: row.dkim_selector, privateKey: privateKey.toString('utf8') };
  }

  close(): void {
    this.mail.transports.closeAll();
    this.relay.close();
  }
}

const sameAddress = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/**
 * The rule "no mail leaves under an address the organisation has not proved": the mailbox is
 * verified (the worker logged in and round-tripped a message, or its relay domain is proved in DNS)
 * and the message's From is exactly the mailbox's address.
 */
export function assertProvenSender(mailbox: SendingMailbox, message: Pick<OutgoingMail, 'from'>): void {
  if (mailbox.verification_status !== 'verified')
    throw new UnprovenSenderError(
      `mailbox ${mailbox.from_address} is ${mailbox.verification_status}, not verified`,
    );
  if (!sameAddress(message.from.address, mailbox.from_address))
    throw new UnprovenSenderError(
      `From ${message.from.address} is not the address of mailbox ${mailbox.from_address}`,
    );
}
