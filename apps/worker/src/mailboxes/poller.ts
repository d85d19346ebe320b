import type { TenantClient } from '@prospectflow/tenant-context';
import { runAsSystem } from '@prospectflow/tenant-context';
import { ImapFlow } from 'imapflow';
import type { Pool } from 'pg';
import type { Logger } from '../logger.js';
import { inTenant } from '../queue/sql.js';
import { loadAccount } from './account.js';
import { imapOptions } from './connect.js';
import { describeFailure } from './failures.js';
import { type Checkpoint, type InboundMessage, readNewMessages } from './inbox.js';
import type { MailServices } from './services.js';

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
}

export interface PollResult {
  mailboxId: string;
  read: number;
  /** IMAP commands sent (login, select, fetches, logout): the poll's round trips. */
  roundTrips: number;
  error?: string;
}

const FOLDER = 'INBOX';

/**
 * The IMAP poller: reads each verified mailbox's INBOX from its UID checkpoint, hands every new
 * message to `apply` and advances the checkpoint in the same transaction, so a restart neither
 * reads a message twice nor skips one. A mailbox failing is logged and retried next round.
 */
export class MailboxPoller {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(private readonly options: PollerOptions) {}

  start(): void {
    const loop = async () => {
      if (this.#stopped) return;
      this.#running = this.pollAll()
        .then(() => {})
        .catch((error: Error) => this.options.log.error({ err: error }, 'imap poll round failed'));
      await this.#running;
      if (!this.#stopped) this.#timer = setTimeout(loop, this.options.intervalMs);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One round over every mailbox to read (also what tests and the bench call). */
  async pollAll(): Promise<PollResult[]> {
    const { pool } = this.options;
    const mailboxes = await runAsSystem(
      'imap poller',
      async () =>
        (await pool.query<{ organisation_id: string; id: string }>('SELECT * FROM app.mailboxes_to_poll()'))
          .rows,
    );
    const results: PollResult[] = [];
    const queue = [...mailboxes];
    const workers = Array.from(
      { length: Math.min(this.options.concurrency ?? 4, queue.length) },
      async () => {
        for (let next = queue.shift(); next; next = queue.shift())
          results.push(await this.pollMailbox(next.organisation_id, next.id));
      },
    );
    await Promise.all(workers);
    return results;
  }

  async pollMailbox(organisationId: string, mailboxId: string): Promise<PollResult> {
    const { pool, mail, log, apply } = this.options;
    let roundTrips = 0;
    let client: ImapFlow | undefined;
    try {
      const account = await inTenant(pool, organisationId, (c) => loadAccount(c, mailboxId, mail.box));
      if (!account?.imap) return { mailboxId, read: 0, roundTrips };
      client = new ImapFlow(await imapOptions(account, mail.access));
      client.on('error', () => {});
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
      let read = 0;
      try {
        const checkpoint = await inTenant(pool, organisationId, async (c) => {
          const { rows } = await c.query<{ uid_validity: string; last_uid: string }>(
            `SELECT uid_validity, last_uid FROM outreach.mailbox_sync_states WHERE mailbox_id = $1 AND folder = $2`,
            [mailboxId, FOLDER],
          );
          return rows[0]
            ? ({
                uidValidity: BigInt(rows[0].uid_validity),
                lastUid: Number(rows[0].last_uid),
              } satisfies Checkpoint)
            : undefined;
        });
        const { uidValidity, messages } = await readNewMessages(client, checkpoint);
        for (const message of messages) {
          // The message and the checkpoint commit together: exactly once across restarts.
          await inTenant(pool, organisationId, async (c) => {
            await apply(c, { organisationId, id: mailboxId }, message);
            await saveCheckpoint(c, mailboxId, uidValidity, message.uid);
          });
          read += 1;
        }
        await inTenant(pool, organisationId, (c) => saveCheckpoint(c, mailboxId, uidValidity, undefined));
      } finally {
        lock.release();
      }
      await client.logout();
      client = undefined;
      if (read) log.info({ mailboxId, read }, 'imap poll: messages read');
      return { mailboxId, read, roundTrips };
    } catch (error) {
      const failure = describeFailure(error);
      log.warn({ mailboxId, kind: failure.kind, answer: failure.answer }, 'imap poll failed');
      await inTenant(pool, organisationId, (c) =>
        c.query(
          `UPDATE outreach.mailbox_sync_states SET last_error = $3, last_polled_at = now() WHERE mailbox_id = $1 AND folder = $2`,
          [mailboxId, FOLDER, `${failure.kind}: ${failure.answer}`.slice(0, 500)],
        ),
      ).catch(() => {});
      return { mailboxId, read: 0, roundTrips, error: failure.kind };
    } finally {
      client?.close();
    }
  }
}

/** Upserts the checkpoint; `uid` undefined only records the poll time (and a new UIDVALIDITY). */
async function saveCheckpoint(
  c: TenantClient,
  mailboxId: string,
  uidValidity: bigint,
  uid: number | undefined,
) {
  await c.query(
    `INSERT INTO outreach.mailbox_sync_states (mailbox_id, folder, uid_validity, last_uid, last_polled_at, last_error)
     VALUES ($1, $2, $3, coalesce($4, 0), now(), NULL)
     ON CONFLICT (organisation_id, mailbox_id, folder) DO UPDATE SET
       last_uid = CASE WHEN mailbox_sync_states.uid_validity <> excluded.uid_validity THEN coalesce($4, 0)
                       ELSE greatest(mailbox_sync_states.last_uid, coalesce($4, mailbox_sync_states.last_uid)) END,
       uid_validity = excluded.uid_validity, last_polled_at = now(), last_error = NULL`,
    [mailboxId, FOLDER, uidValidity.toString(), uid ?? null],
  );
}
