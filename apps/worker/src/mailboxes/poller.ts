import type { TenantClient } from '@prospectflow/tenant-context';
import { runAsSystem } from '@prospectflow/tenant-context';
import { ImapFlow } from 'imapflow';
import type { Pool } from 'pg';
import { type Logger, quietSystemScope } from '../logger.js';
import { inTenant } from '../queue/sql.js';
import { loadAccount } from './account.js';
import { imapOptions } from './connect.js';
import { describeFailure, isMessageFault, type StepFailure } from './failures.js';
import { InboxWatchers, type WatchedMailbox } from './idle.js';
import {
  BATCH_SIZE,
  type InboundMessage,
  type InboxBatch,
  readMessages,
  startAfter,
  uidsAfter,
} from './inbox.js';
import type { MailServices } from './services.js';
import { loadSyncState, recordError, saveProgress } from './sync-state.js';

/** Applies one inbound message in the mailbox's organisation (the shared reply/bounce path). */
export type InboundSink = (
  client: TenantClient,
  mailbox: { organisationId: string; id: string },
  message: InboundMessage,
) => Promise<void>;

export interface PollerOptions {
  pool: Pool;
  mail: MailServices;
  log: Logger;
  apply: InboundSink;
  /** Between two reads of every mailbox (IMAP_POLL_INTERVAL_MS, default 60 s). */
  intervalMs: number;
  /** Mailboxes read at once (IMAP_POLL_CONCURRENCY, default 4). */
  concurrency?: number;
  /** IDLE connections at most (IMAP_IDLE_CONNECTIONS); 0 or absent: polling only. */
  idleConnections?: number;
  /** One mailbox's poll at most this long, ms (default POLL_TIMEOUT_MS): then its connection is cut. */
  pollTimeoutMs?: number;
}

/**
 * A mailbox's poll is cut off after this long (its batches committed so far are kept). The socket
 * timeout does not bound it: a server that sends a byte now and then never goes idle, and a round
 * waits for each of its polls — one such server (a user's host) would stop every mailbox's polling.
 */
export const POLL_TIMEOUT_MS = 120_000;

export interface PollResult {
  mailboxId: string;
  /** Messages applied. */
  read: number;
  /** Messages passed over: they failed for a reason of their own (see isMessageFault). */
  skipped: number;
  /** IMAP commands sent (login, select, fetches, logout): the poll's round trips. */
  roundTrips: number;
  error?: string;
}

const FOLDER = 'INBOX';

/**
 * The IMAP poller: reads each verified mailbox's INBOX from its UID checkpoint in batches of
 * BATCH_SIZE UIDs, hands every message to `apply` and advances the checkpoint in the batch's
 * transaction, so a restart neither reads a message twice nor skips one. A mailbox read for the
 * first time starts at the mail received since its verification (see startAfter), not its history.
 * A message that cannot be applied because of its own content is skipped and counted; any other
 * failure is recorded on the mailbox's sync state and the poll is retried next round.
 */
export class MailboxPoller {
  #timer: NodeJS.Timeout | undefined;
  readonly #rounds = new Set<Promise<void>>();
  #stopped = false;
  /** One poll per mailbox at a time (queued or running); a call during a running one asks for another right after. */
  readonly #inFlight = new Map<string, Promise<PollResult>>();
  /** Mailboxes whose poll has a slot and is reading now. */
  readonly #reading = new Set<string>();
  readonly #again = new Set<string>();
  readonly #watchers: InboxWatchers | undefined;
  /** Polls running, rounds and IDLE wake-ups together, at most `concurrency`; the rest queue. */
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(private readonly options: PollerOptions) {
    const { pool, mail, log, idleConnections } = options;
    if (idleConnections)
      this.#watchers = new InboxWatchers({
        pool,
        mail,
        log,
        maxConnections: idleConnections,
        onNewMail: (organisationId, mailboxId) => {
          if (!this.#stopped) void this.pollNow(organisationId, mailboxId);
        },
      });
  }

  /** Mailboxes with an IDLE connection (opening or open), and those of them in IDLE now. */
  get idle(): { watching: string[]; idling: string[] } {
    return { watching: this.#watchers?.watching ?? [], idling: this.#watchers?.idling ?? [] };
  }

  /**
   * Starts a round every `intervalMs`, whether or not the last one has finished: each mailbox is
   * read once per interval, and a slow server (cut after pollTimeoutMs) delays no other mailbox's
   * turn. A mailbox whose poll is still queued or running is not polled twice (see pollNow).
   */
  start(): void {
    const tick = () => {
      if (this.#stopped) return;
      this.#timer = setTimeout(tick, this.options.intervalMs);
      const round: Promise<void> = this.pollAll()
        .then(
          () => {},
          (error: Error) => this.options.log.error({ err: error }, 'imap poll round failed'),
        )
        .finally(() => this.#rounds.delete(round));
      this.#rounds.add(round);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await Promise.all(this.#rounds);
    await this.#watchers?.stop();
    await Promise.all(this.#inFlight.values());
  }

  /**
   * Polls one mailbox unless a poll of it is in flight. A queued one will see what is new; a
   * running one is followed by another (the new mail may have arrived after its search). Both the
   * rounds and IDLE wake-ups go through here.
   */
  pollNow(organisationId: string, mailboxId: string): Promise<PollResult> {
    const inFlight = this.#inFlight.get(mailboxId);
    if (inFlight) {
      if (this.#reading.has(mailboxId)) this.#again.add(mailboxId);
      return inFlight;
    }
    const read = async () => {
      this.#reading.add(mailboxId);
      try {
        return await this.pollMailbox(organisationId, mailboxId);
      } finally {
        this.#reading.delete(mailboxId);
      }
    };
    const poll = (async () => {
      let result: PollResult;
      do {
        this.#again.delete(mailboxId);
        result = await this.#limited(read);
      } while (this.#again.has(mailboxId) && !this.#stopped);
      return result;
    })().finally(() => this.#inFlight.delete(mailboxId));
    this.#inFlight.set(mailboxId, poll);
    return poll;
  }

  /** Polls running now and polls waiting for a slot. */
  get polling(): { running: number; queued: number } {
    return { running: this.#active, queued: this.#waiting.length };
  }

  async #limited<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= (this.options.concurrency ?? 4))
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active += 1;
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next waiter, or is freed.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active -= 1;
    }
  }

  /** One round over every mailbox to read (also what tests and the bench call). */
  async pollAll(): Promise<PollResult[]> {
    const { pool } = this.options;
    const mailboxes = await runAsSystem(
      'imap poller',
      async () => (await pool.query<WatchedMailbox>('SELECT * FROM app.mailboxes_to_poll()')).rows,
      quietSystemScope,
    );
    this.#watchers?.sync(mailboxes);
    // pollNow's slots bound how many run at once; the rest wait in order.
    return await Promise.all(mailboxes.map((m) => this.pollNow(m.organisation_id, m.id)));
  }

  async pollMailbox(organisationId: string, mailboxId: string): Promise<PollResult> {
    const { pool, mail, log } = this.options;
    let roundTrips = 0;
    let read = 0;
    let skipped = 0;
    let client: ImapFlow | undefined;
    const limitMs = this.options.pollTimeoutMs ?? POLL_TIMEOUT_MS;
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      client?.close();
    }, limitMs);
    try {
      const account = await inTenant(pool, organisationId, (c) => loadAccount(c, mailboxId, mail.box));
      if (!account?.imap) return { mailboxId, read, skipped, roundTrips };
      client = new ImapFlow(await imapOptions(account, mail.access));
      client.on('error', () => {});
      if (timedOut) throw new Error('poll deadline passed before connecting');
      // Every command of imapflow goes through exec(): count them as round trips.
      const exec = (client as unknown as { exec: (...args: unknown[]) => Promise<unknown> }).exec.bind(
        client,
      );
      (client as unknown as { exec: typeof exec }).exec = (...args) => {
        roundTrips += 1;
        return exec(...args);
      };
      await client.connect();
      const lock = await client.getMailboxLock(FOLDER);
      try {
        const state = await inTenant(pool, organisationId, (c) => loadSyncState(c, mailboxId, FOLDER));
        if (!state) return { mailboxId, read, skipped, roundTrips };
        if (!client.mailbox) throw new Error(`${FOLDER} is not selected`);
        const uidValidity = BigInt(client.mailbox.uidValidity);
        let after = await startAfter(client, state.checkpoint, state.since);
        const uids = await uidsAfter(client, after);
        // Batch by batch, each committed with its checkpoint: a dropped connection keeps the progress.
        for (let i = 0; i < uids.length; i += BATCH_SIZE) {
          const batch = uids.slice(i, i + BATCH_SIZE);
          const outcome = await this.#applyBatch(
            organisationId,
            { id: mailboxId, credentialsVersion: account.credentialsVersion },
            uidValidity,
            await readMessages(client, batch, account.fromAddress),
            batch.at(-1)!,
          );
          read += outcome.applied;
          skipped += outcome.skipped;
          after = batch.at(-1)!;
        }
        await inTenant(pool, organisationId, (c) =>
          saveProgress(c, mailboxId, FOLDER, {
            uidValidity,
            lastUid: after,
            skipped: 0,
            caughtUp: true,
            credentialsVersion: account.credentialsVersion,
          }),
        );
      } finally {
        lock.release();
      }
      await client.logout();
      client = undefined;
      if (read || skipped) log.info({ mailboxId, read, skipped }, 'imap poll: messages read');
      return { mailboxId, read, skipped, roundTrips };
    } catch (error) {
      const failure: StepFailure = timedOut
        ? {
            kind: 'timeout',
            answer: `the poll did not finish within ${Math.round(limitMs / 1000)} s: the connection was cut (the checkpoint keeps what was read)`,
          }
        : describeFailure(error);
      log.warn(
        { mailboxId, kind: failure.kind, answer: failure.answer, read, skipped },
        'imap poll failed: the checkpoint stays before the unread messages',
      );
      await inTenant(pool, organisationId, (c) =>
        recordError(c, mailboxId, FOLDER, `${failure.kind}: ${failure.answer}`),
      ).catch((recordFailure: Error) =>
        log.error({ mailboxId, err: recordFailure }, 'imap poll: the failure could not be recorded'),
      );
      return { mailboxId, read, skipped, roundTrips, error: failure.kind };
    } finally {
      clearTimeout(deadline);
      client?.close();
    }
  }

  /**
   * Applies one batch in one transaction, each message in a savepoint of its own: a message that
   * fails for a reason of its own (isMessageFault) is rolled back alone, counted and passed over;
   * any other failure rolls the whole batch back and the checkpoint stays before it.
   */
  async #applyBatch(
    organisationId: string,
    { id: mailboxId, credentialsVersion }: { id: string; credentialsVersion: number },
    uidValidity: bigint,
    { messages, unreadable }: InboxBatch,
    lastUid: number,
  ): Promise<{ applied: number; skipped: number }> {
    const { pool, apply, log } = this.options;
    const mailbox = { organisationId, id: mailboxId };
    const skips: { uid: number; messageId: string | undefined; code: string; error: string }[] =
      unreadable.map((u) => ({ uid: u.uid, messageId: undefined, code: 'unreadable', error: u.error }));
    await inTenant(pool, organisationId, async (c) => {
      for (const message of messages) {
        try {
          // Nested in the batch's transaction: a savepoint.
          await inTenant(pool, organisationId, (nested) => apply(nested, mailbox, message));
        } catch (error) {
          if (!isMessageFault(error)) throw error;
          const e = error as { code: string; message?: string };
          skips.push({
            uid: message.uid,
            messageId: message.messageId,
            code: e.code,
            error: String(e.message),
          });
        }
      }
      const last = skips.reduce<(typeof skips)[number] | undefined>(
        (a, b) => (a && a.uid > b.uid ? a : b),
        undefined,
      );
      await saveProgress(c, mailboxId, FOLDER, {
        uidValidity,
        lastUid,
        skipped: skips.length,
        ...(last ? { lastSkip: `uid ${last.uid}: ${last.code} ${last.error}` } : {}),
        caughtUp: false,
        credentialsVersion,
      });
    });
    // Logged once committed: a batch rolled back is read again, and its skips with it.
    for (const skip of skips)
      log.warn(
        { mailboxId, uid: skip.uid, messageId: skip.messageId, code: skip.code, error: skip.error },
        'imap poll: message skipped, it cannot be applied',
      );
    return { applied: messages.length + unreadable.length - skips.length, skipped: skips.length };
  }
}
