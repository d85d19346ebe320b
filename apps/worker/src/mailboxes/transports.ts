import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';

interface Entry {
  version: number;
  transport: Promise<Transporter>;
  lastUsed: number;
  /** Callers inside use(): building, queued in the pool or transmitting. */
  busy: number;
  /** No longer handed out (new version, close(), bound): closed once `busy` reaches 0. */
  retired: boolean;
}

export interface MailboxTransportsOptions {
  /**
   * Mailboxes with an open pool at most (default 200): beyond it the least recently used idle pool
   * is closed. Pools in use are never closed for the bound: while every pool is busy the count
   * overshoots, and it comes back down as their sends finish.
   */
  maxMailboxes?: number;
  /** A pool unused this long is closed (default 5 min). */
  idleMs?: number;
  now?: () => number;
}

/**
 * One pooled SMTP transport per mailbox (authentication is per connection, so never shared across
 * mailboxes), keyed by the mailbox's credentials version: a changed password or token makes the
 * next send build a new pool, and the old one is closed once its sends in flight have finished.
 * Bounded in count, idle pools closed. A pool is only closed when no caller of use() holds it —
 * closing one under a send fails that send ('Connection pool was closed') and costs it an attempt.
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

  /** Mailboxes with a pool handed out to new sends (retired pools still finishing are not counted). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Runs `fn` with the mailbox's pool for this credentials version, holding the pool open until
   * `fn` settles. `options` (opening the sealed secrets, resolving and SSRF-checking the host) runs
   * only when no pool of that version is open.
   */
  async use<T>(
    mailboxId: string,
    credentialsVersion: number,
    options: () => Promise<SMTPPool.Options>,
    fn: (transport: Transporter) => Promise<T>,
  ): Promise<T> {
    const entry = this.#lease(mailboxId, credentialsVersion, options);
    try {
      return await fn(await entry.transport);
    } finally {
      entry.busy -= 1;
      entry.lastUsed = this.#options.now();
      if (entry.retired) this.#closeIfIdle(entry);
      // An overshoot of the bound (every pool was busy) is taken back as soon as one is idle.
      else this.#trim();
    }
  }

  #lease(mailboxId: string, credentialsVersion: number, options: () => Promise<SMTPPool.Options>): Entry {
    const now = this.#options.now();
    let entry = this.#entries.get(mailboxId);
    if (entry && entry.version !== credentialsVersion) {
      this.close(mailboxId);
      entry = undefined;
    }
    if (entry) {
      // Map order is insertion order: re-inserting keeps the first key the least recently used.
      this.#entries.delete(mailboxId);
    } else {
      const transport = options().then((o) => nodemailer.createTransport(o));
      const built: Entry = { version: credentialsVersion, transport, lastUsed: now, busy: 0, retired: false };
      // A failed build (SSRF guard, DNS) is not cached: the next send tries again.
      transport.catch(() => this.#entries.get(mailboxId) === built && this.#entries.delete(mailboxId));
      entry = built;
    }
    entry.lastUsed = now;
    entry.busy += 1;
    this.#entries.set(mailboxId, entry);
    this.#trim();
    return entry;
  }

  /** Closes least recently used idle pools while over the bound; busy ones are skipped. */
  #trim(): void {
    let over = this.#entries.size - this.#options.maxMailboxes;
    if (over <= 0) return;
    for (const [id, entry] of this.#entries) {
      if (entry.busy > 0) continue;
      this.close(id);
      if (--over === 0) return;
    }
  }

  #closeIfIdle(entry: Entry): void {
    if (entry.busy > 0) return;
    entry.transport.then((t) => t.close()).catch(() => {});
  }

  /**
   * Stops handing out a mailbox's pool (credentials changed or refused, mailbox in error): the next
   * send builds a new one; this one is closed when its sends in flight have finished.
   */
  close(mailboxId: string): void {
    const entry = this.#entries.get(mailboxId);
    if (!entry) return;
    this.#entries.delete(mailboxId);
    entry.retired = true;
    this.#closeIfIdle(entry);
  }

  closeIdle(): void {
    const cutoff = this.#options.now() - this.#options.idleMs;
    for (const [id, entry] of this.#entries) if (entry.busy === 0 && entry.lastUsed < cutoff) this.close(id);
  }

  /** Shutdown, after the worker stopped: pools still busy are closed when their sends finish. */
  closeAll(): void {
    clearInterval(this.#sweeper);
    for (const id of [...this.#entries.keys()]) this.close(id);
  }
}
