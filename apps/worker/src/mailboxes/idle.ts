import { ImapFlow } from 'imapflow';
import type { Pool } from 'pg';
import type { Logger } from '../logger.js';
import { inTenant } from '../queue/sql.js';
import { loadAccount } from './account.js';
import { imapOptions } from './connect.js';
import { describeFailure } from './failures.js';
import type { MailServices } from './services.js';

export interface WatchedMailbox {
  organisation_id: string;
  id: string;
  credentials_version: number;
}

export interface IdleOptions {
  pool: Pool;
  mail: MailServices;
  log: Logger;
  /** IDLE connections kept open at most (IMAP_IDLE_CONNECTIONS); the other mailboxes are only polled. */
  maxConnections: number;
  /** A watched INBOX reported new mail: poll that mailbox now. */
  onNewMail: (organisationId: string, mailboxId: string) => void;
  /**
   * IDLE is re-issued this often (default 4 min): under imapflow's socket timeout (5 min, which
   * would break it with a NOOP) and RFC 2177's 29 min (servers may drop an IDLE after 30).
   */
  maxIdleMs?: number;
}

interface Watch {
  mailbox: WatchedMailbox;
  client: ImapFlow | undefined;
  closed: boolean;
  done: Promise<void>;
}

/**
 * IMAP IDLE on the INBOX of up to `maxConnections` mailboxes whose server advertises IDLE: new
 * mail triggers an immediate poll of that mailbox. Only a wake-up: the poller still reads every
 * mailbox each round (the safety net, and the only reader for servers without IDLE). `sync` runs
 * each poll round with the mailboxes to read: it closes the watches of mailboxes gone, unverified
 * or whose credentials changed (new credentials_version), and opens missing ones (a dropped
 * connection is reopened at the next round, not in a loop).
 */
export class InboxWatchers {
  readonly #watches = new Map<string, Watch>();
  /** `mailboxId:credentialsVersion` whose server has no IDLE: not asked again until credentials change. */
  readonly #withoutIdle = new Set<string>();
  #stopped = false;

  constructor(private readonly options: IdleOptions) {}

  /** Mailboxes with an open (or opening) IDLE connection. */
  get watching(): string[] {
    return [...this.#watches.keys()];
  }

  /** Mailboxes whose connection is in IDLE now (new mail wakes them). */
  get idling(): string[] {
    return [...this.#watches.values()].filter((w) => w.client?.idling).map((w) => w.mailbox.id);
  }

  sync(mailboxes: WatchedMailbox[]): void {
    if (this.#stopped) return;
    const listed = new Map(mailboxes.map((m) => [m.id, m]));
    const listedKeys = new Set(mailboxes.map(key));
    for (const k of this.#withoutIdle) if (!listedKeys.has(k)) this.#withoutIdle.delete(k);
    for (const watch of this.#watches.values()) {
      const now = listed.get(watch.mailbox.id);
      if (!now || now.credentials_version !== watch.mailbox.credentials_version) this.#close(watch);
    }
    for (const mailbox of mailboxes) {
      if (this.#watches.size >= this.options.maxConnections) break;
      if (this.#watches.has(mailbox.id) || this.#withoutIdle.has(key(mailbox))) continue;
      const watch: Watch = { mailbox, client: undefined, closed: false, done: Promise.resolve() };
      this.#watches.set(mailbox.id, watch);
      watch.done = this.#run(watch);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const watches = [...this.#watches.values()];
    for (const watch of watches) this.#close(watch);
    await Promise.all(watches.map((w) => w.done));
  }

  #close(watch: Watch): void {
    watch.closed = true;
    watch.client?.close();
  }

  async #run(watch: Watch): Promise<void> {
    const { pool, mail, log, onNewMail } = this.options;
    const { organisation_id: organisationId, id: mailboxId } = watch.mailbox;
    try {
      const account = await inTenant(pool, organisationId, (c) => loadAccount(c, mailboxId, mail.box));
      if (!account?.imap || account.credentialsVersion !== watch.mailbox.credentials_version) return;
      const client = new ImapFlow({
        ...(await imapOptions(account, mail.access)),
        maxIdleTime: this.options.maxIdleMs ?? 4 * 60_000,
      });
      watch.client = client;
      client.on('error', () => {});
      client.on('exists', () => onNewMail(organisationId, mailboxId));
      if (watch.closed) return;
      await client.connect();
      if (watch.closed) return;
      if (!client.capabilities.has('IDLE')) {
        this.#withoutIdle.add(key(watch.mailbox));
        log.info({ mailboxId }, 'imap idle: not supported by the server, the mailbox is polled only');
        return;
      }
      await client.mailboxOpen('INBOX', { readOnly: true });
      log.debug({ mailboxId }, 'imap idle: watching INBOX');
      // imapflow re-issues IDLE itself every maxIdleTime; idle() returns when another command broke
      // it (the NOOP of a socket timeout) or the connection ended. False (refused) or an immediate
      // return ends the watch rather than looping; the next round reopens it.
      while (!watch.closed && client.usable && client.mailbox) {
        const started = Date.now();
        const ended = await client.idle();
        if (watch.closed) break;
        if (ended === false || Date.now() - started < 1000) {
          log.warn({ mailboxId, refused: ended === false }, 'imap idle: ended at once, retried next round');
          break;
        }
      }
    } catch (error) {
      if (!watch.closed) {
        const failure = describeFailure(error);
        log.warn({ mailboxId, kind: failure.kind, answer: failure.answer }, 'imap idle: connection failed');
      }
    } finally {
      watch.client?.close();
      if (this.#watches.get(mailboxId) === watch) this.#watches.delete(mailboxId);
    }
  }
}

const key = (m: WatchedMailbox) => `${m.id}:${m.credentials_version}`;
