import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';

interface Entry {
  version: number;
  transport: Promise<Transporter>;
  lastUsed: number;
}

export interface MailboxTransportsOptions {
  /** Mailboxes with an open pool at most; the least recently used is closed beyond (default 200). */
  maxMailboxes?: number;
  /** A pool unused this long is closed (default 5 min). */
  idleMs?: number;
  now?: () => number;
}

/**
 * One pooled SMTP transport per mailbox (authentication is per connection, so never shared across
 * mailboxes), keyed by the mailbox's credentials version: a changed password or token makes the
 * next send build a new pool and close the old one. Bounded in count, idle pools closed.
 */
export class MailboxTransports {
  readonly #entries = new Map<string, Entry>();
  readonly #options: Required<MailboxTransportsOptions>;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MailboxTransportsOptions = {}) {
    this.#options = { maxMailboxes: 200, idleMs: 300_000, now: Date.now, ...options };
    this.#sweeper = setInterval(() => this.closeIdle(), Math.max(1_000, this.#options.idleMs / 2));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The mailbox's pool for this credentials version. `options` (opening the sealed secrets,
   * resolving and SSRF-checking the host) runs only when no pool of that version is open.
   */
  async get(
    mailboxId: string,
    credentialsVersion: number,
    options: () => Promise<SMTPPool.Options>,
  ): Promise<Transporter> {
    const now = this.#options.now();
    const current = this.#entries.get(mailboxId);
    if (current && current.version === credentialsVersion) {
      current.lastUsed = now;
      this.#entries.delete(mailboxId);
      this.#entries.set(mailboxId, current);
      return await current.transport;
    }
    if (current) this.close(mailboxId);
    const transport = options().then((o) => nodemailer.createTransport(o));
    // A failed build (SSRF guard, DNS) is not cached: the next send tries again.
    transport.catch(
      () => this.#entries.get(mailboxId)?.transport === transport && this.#entries.delete(mailboxId),
    );
    this.#entries.set(mailboxId, { version: credentialsVersion, transport, lastUsed: now });
    // Map order is insertion order and a hit re-inserts below, so the first key is least recent.
    while (this.#entries.size > this.#options.maxMailboxes) this.close(this.#entries.keys().next().value!);
    return await transport;
  }

  /** Closes a mailbox's pool (credentials changed, mailbox in error, shutdown). */
  close(mailboxId: string): void {
    const entry = this.#entries.get(mailboxId);
    if (!entry) return;
    this.#entries.delete(mailboxId);
    entry.transport.then((t) => t.close()).catch(() => {});
  }

  closeIdle(): void {
    const cutoff = this.#options.now() - this.#options.idleMs;
    for (const [id, entry] of this.#entries) if (entry.lastUsed < cutoff) this.close(id);
  }

  closeAll(): void {
    clearInterval(this.#sweeper);
    for (const id of [...this.#entries.keys()]) this.close(id);
  }
}
