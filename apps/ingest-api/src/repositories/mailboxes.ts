import { randomUUID } from 'node:crypto';
import { type MailboxProvider, type ServerColumns, serverFromColumns } from '@prospectflow/mailboxes';
import { enqueue, REVERIFY_MAILBOX, TASKS } from '@prospectflow/outreach-core';
import type { SealedSecret } from '@prospectflow/secrets';
import { currentTenant, type TenantClient } from '@prospectflow/tenant-context';
import type { Static } from 'typebox';
import { isStillReferenced, isUniqueViolation } from '../lib/db-errors.js';
import { conflict, ProblemError, unprocessable } from '../lib/problem.js';
import type { Connection } from '../mailboxes/connection.js';
import type { Database } from '../plugins/app/db.js';
import type { Mailbox } from '../routes/v1/mailboxes/schema.js';
import { mailboxInError } from './mailbox-usable.js';

/** A sending mailbox as the API shows it (never a secret): the route's response schema. */
export type MailboxRow = Static<typeof Mailbox>;

export type MailboxWritable = Partial<
  Pick<
    MailboxRow,
    | 'fromName'
    | 'fromAddress'
    | 'dailyLimit'
    | 'windowStart'
    | 'windowEnd'
    | 'windowDays'
    | 'timeZone'
    | 'minGapSeconds'
    | 'status'
  >
>;

/** A connection change to store: the merged settings and, when a secret changed, the new sealed secret. */
export interface ConnectionChange {
  connection: Connection;
  sealed?: SealedSecret;
  /**
   * The credentials version of the stored mailbox the change was merged over: it is written only
   * while that is still current (409 `mailbox_changed_concurrently` otherwise).
   */
  basedOn?: number;
}

/** A mailbox as a connection change merges over it; `id` as the database has it (lower case). */
export interface StoredMailbox {
  id: string;
  fromAddress: string;
  credentialsVersion: number;
  connection: Connection;
  sealed?: SealedSecret;
}

const COLUMNS: Record<keyof MailboxWritable, string> = {
  fromName: 'from_name',
  fromAddress: 'from_address',
  dailyLimit: 'daily_limit',
  windowStart: 'window_start',
  windowEnd: 'window_end',
  windowDays: 'window_days',
  timeZone: 'time_zone',
  minGapSeconds: 'min_gap_seconds',
  status: 'status',
};
const server = (
  p: 'smtp' | 'imap',
) => `CASE WHEN ${p}_host IS NULL THEN NULL ELSE json_build_object('host', ${p}_host,
  'port', ${p}_port, 'security', ${p}_security, 'user', ${p}_user,
  'password', json_build_object('configured', provider = 'smtp_imap' AND secret_ciphertext IS NOT NULL)) END`;
const SELECT = `SELECT id, from_name AS "fromName", from_address AS "fromAddress", daily_limit AS "dailyLimit",
  to_char(window_start, 'HH24:MI') AS "windowStart", to_char(window_end, 'HH24:MI') AS "windowEnd", window_days::int[] AS "windowDays",
  time_zone AS "timeZone", min_gap_seconds AS "minGapSeconds", status, paused_reason AS "pausedReason", provider,
  ${server('smtp')} AS smtp, ${server('imap')} AS imap,
  CASE WHEN provider IN ('google', 'microsoft') THEN json_build_object('refreshToken', json_build_object('configured', secret_ciphertext IS NOT NULL)) END AS oauth,
  json_build_object('status', verification_status, 'verifiedAt', to_json(verified_at) #>> '{}', 'failure', last_error_code,
    'steps', verification) AS verification,
  to_json(created_at) #>> '{}' AS "createdAt", to_json(updated_at) #>> '{}' AS "updatedAt" FROM outreach.mailboxes`;

function entriesOf(values: MailboxWritable): [string, unknown][] {
  return Object.entries(values)
    .filter(([name, value]) => value !== undefined && name in COLUMNS)
    .map(([name, value]) => [COLUMNS[name as keyof MailboxWritable], value]);
}

function connectionEntries(change: ConnectionChange): [string, unknown][] {
  const { provider, smtp, imap } = change.connection;
  return [
    ['provider', provider],
    ['smtp_host', smtp?.host ?? null],
    ['smtp_port', smtp?.port ?? null],
    ['smtp_security', smtp?.security ?? null],
    ['smtp_user', smtp?.user ?? null],
    ['imap_host', imap?.host ?? null],
    ['imap_port', imap?.port ?? null],
    ['imap_security', imap?.security ?? null],
    ['imap_user', imap?.user ?? null],
    ...(change.sealed || provider === 'relay'
      ? ([
          ['secret_ciphertext', change.sealed?.ciphertext ?? null],
          ['secret_wrapped_key', change.sealed?.wrappedKey ?? null],
          ['secret_key_id', change.sealed?.keyId ?? null],
        ] as [string, unknown][])
      : []),
  ];
}

/** The worker's check of the mailbox at its current credentials version (one live task per version). */
async function queueVerification(c: TenantClient, id: string): Promise<void> {
  const { rows } = await c.query<{ id: string; credentials_version: number }>(
    'SELECT id, credentials_version FROM outreach.mailboxes WHERE id = $1',
    [id],
  );
  await enqueue(
    c,
    rows.map((m) => TASKS.verifyMailbox(m.id, m.credentials_version)),
  );
}

/**
 * THE answer to a from-address the organisation already sends from (one mailbox per address):
 * 409 `mailbox_address_taken` with the mailbox's id — for POST /v1/mailboxes, a PATCH to that
 * address, and a consent (`oauth/start` up front, `oauth/complete` if it was taken meanwhile).
 */
export function mailboxAddressTaken(fromAddress: string, existingId?: string): ProblemError {
  return conflict(
    'mailbox_address_taken',
    `This organisation already has a mailbox sending as ${fromAddress} (one per address): reconnect or change that one.`,
    existingId,
  );
}

const ADDRESS_KEY = 'mailboxes_organisation_id_from_address_key';

/** Whether a change points the mailbox at another IMAP account (server or login): another INBOX. */
function otherInbox(
  current: { imap_host: string | null; imap_port: number | null; imap_user: string | null },
  next: Connection['imap'],
): boolean {
  return (
    current.imap_host !== (next?.host ?? null) ||
    current.imap_port !== (next?.port ?? null) ||
    current.imap_user !== (next?.user ?? null)
  );
}

/**
 * The IMAP poller's checkpoints (UIDVALIDITY, last UID) belong to the INBOX they were read from:
 * another account's INBOX may have the same UIDVALIDITY (Dovecot takes the creation time, other
 * servers a small constant), and its UIDs would then be read from the old account's position —
 * replies below it never, older mail above it as new. Dropped in the change's transaction; the
 * time of the last poll stays, so the new INBOX is read from shortly before it, as after a
 * UIDVALIDITY change.
 */
async function forgetInboxCheckpoints(c: TenantClient, mailboxId: string): Promise<void> {
  await c.query(
    'UPDATE outreach.mailbox_sync_states SET uid_validity = NULL, last_uid = 0 WHERE mailbox_id = $1',
    [mailboxId],
  );
}

/** Sending mailboxes of the request's organisation (RLS scopes every statement). */
export function mailboxesRepository(db: Database) {
  const get = (c: TenantClient, id: string) =>
    c.query<MailboxRow>(`${SELECT} WHERE id = $1`, [id]).then((r) => r.rows[0]);
  const idOfAddress = async (fromAddress: string) =>
    (
      await db.tenant((c) =>
        c.query<{ id: string }>('SELECT id FROM outreach.mailboxes WHERE from_address = $1::citext', [
          fromAddress,
        ]),
      )
    ).rows[0]?.id;
  /** A write that takes an address another mailbox has (a race past the check): the same 409. */
  const addressGuarded = async <T>(values: MailboxWritable, write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      if (!values.fromAddress || !isUniqueViolation(error, ADDRESS_KEY)) throw error;
      throw mailboxAddressTaken(values.fromAddress, await idOfAddress(values.fromAddress));
    }
  };
  return {
    /** A fresh id, so the secret can be sealed to it before the row exists. */
    newId: () => randomUUID(),
    organisationId: () => currentTenant()!.organisationId,

    /** 409 `mailbox_address_taken` when the organisation already sends from this address (any case). */
    async refuseTakenAddress(fromAddress: string): Promise<void> {
      const existingId = await idOfAddress(fromAddress);
      if (existingId) throw mailboxAddressTaken(fromAddress, existingId);
    },

    /** Created unverified; the worker's verification is queued in the same transaction. */
    async create(id: string, values: MailboxWritable, change: ConnectionChange): Promise<MailboxRow> {
      const entries: [string, unknown][] = [['id', id], ...entriesOf(values), ...connectionEntries(change)];
      return await addressGuarded(values, () =>
        db.tenant(async (c) => {
          await c.query(
            `INSERT INTO outreach.mailboxes (${entries.map(([column]) => column).join(', ')})
             VALUES (${entries.map((_, i) => `$${i + 1}`).join(', ')})`,
            entries.map(([, value]) => value),
          );
          await queueVerification(c, id);
          return (await get(c, id))!;
        }),
      );
    },

    async list(): Promise<MailboxRow[]> {
      return await db.tenant(
        async (c) => (await c.query<MailboxRow>(`${SELECT} ORDER BY created_at, id`)).rows,
      );
    },

    async get(id: string): Promise<MailboxRow | undefined> {
      return await db.tenant((c) => get(c, id));
    },

    /** The stored connection and sealed secret (for a change that merges over them). */
    async stored(id: string): Promise<StoredMailbox | undefined> {
      return await db.tenant(async (c) => {
        const { rows } = await c.query<
          ServerColumns & {
            id: string;
            credentials_version: number;
            from_address: string;
            provider: MailboxProvider;
            secret_ciphertext: Buffer | null;
            secret_wrapped_key: Buffer | null;
            secret_key_id: string | null;
          }
        >(
          `SELECT id, credentials_version, from_address, provider, smtp_host, smtp_port, smtp_security, smtp_user, imap_host, imap_port, imap_security,
             imap_user, secret_ciphertext, secret_wrapped_key, secret_key_id FROM outreach.mailboxes WHERE id = $1`,
          [id],
        );
        const r = rows[0];
        if (!r) return undefined;
        return {
          id: r.id,
          fromAddress: r.from_address,
          credentialsVersion: r.credentials_version,
          connection: {
            provider: r.provider,
            smtp: serverFromColumns(r, 'smtp'),
            imap: serverFromColumns(r, 'imap'),
          },
          ...(r.secret_ciphertext && r.secret_wrapped_key && r.secret_key_id
            ? {
                sealed: {
                  ciphertext: r.secret_ciphertext,
                  wrappedKey: r.secret_wrapped_key,
                  keyId: r.secret_key_id,
                },
              }
            : {}),
        };
      });
    },

    /**
     * Setting status `active` clears the pause reason and wakes the tasks the pause snoozed. A
     * connection change (or a new from-address) bumps the credentials version, makes the mailbox
     * unverified again and queues its verification: nothing is sent from it until that passes.
     *
     * A mailbox in `error` (the provider refused its credentials) leaves it only through a new
     * check: status `active` alone is refused (422 `mailbox_in_error`: POST …/verify, whose
     * passing check makes it active, or give new credentials); any other status change out of
     * `error` (paused, disabled, or active with new credentials) makes it unverified and queues
     * the check, so a later `active` cannot skip it.
     *
     * A connection change was merged over a stored state read beforehand (its secrets are opened
     * and its hosts resolved outside the transaction): if another change was written meanwhile, it
     * is refused rather than written over it (it could pair one provider's settings with another's
     * secret).
     */
    async update(
      id: string,
      values: MailboxWritable,
      change?: ConnectionChange,
    ): Promise<MailboxRow | undefined> {
      const entries = [...entriesOf(values), ...(change ? connectionEntries(change) : [])];
      return await addressGuarded(values, () =>
        db.tenant(async (c) => {
          const current = (
            await c.query<{
              status: string;
              paused_reason: string | null;
              last_error_code: string | null;
              credentials_version: number;
              imap_host: string | null;
              imap_port: number | null;
              imap_user: string | null;
            }>(
              `SELECT status, paused_reason, last_error_code, credentials_version, imap_host, imap_port, imap_user
               FROM outreach.mailboxes WHERE id = $1 FOR UPDATE`,
              [id],
            )
          ).rows[0];
          if (!current) return undefined;
          if (change?.basedOn !== undefined && change.basedOn !== current.credentials_version)
            throw new ProblemError(
              409,
              'mailbox_changed_concurrently',
              'The mailbox connection changed while this change was prepared: nothing was written. Send the change again (it applies over the new settings).',
              { headers: { 'retry-after': '1' } },
            );
          const connectionChanged = change !== undefined || values.fromAddress !== undefined;
          const leavesError = current.status === 'error' && values.status !== undefined;
          if (leavesError && values.status === 'active' && !connectionChanged)
            throw mailboxInError(id, current.paused_reason, current.last_error_code);
          const reverify = connectionChanged || leavesError;
          const sets = entries.map(([column], i) => `${column} = $${i + 2}`);
          if (values.status === 'active') sets.push('paused_reason = NULL');
          if (reverify) sets.push(REVERIFY_MAILBOX);
          // Validation lets no empty change through; should one come, it changes nothing.
          if (!sets.length) return await get(c, id);
          const { rowCount } = await c.query(
            `UPDATE outreach.mailboxes SET ${sets.join(', ')} WHERE id = $1`,
            [id, ...entries.map(([, value]) => value)],
          );
          if (!rowCount) return undefined;
          if (change && otherInbox(current, change.connection.imap)) await forgetInboxCheckpoints(c, id);
          if (reverify) await queueVerification(c, id);
          // Sends that waited for this mailbox (main, additional or pinned) go out without their snooze.
          if (values.status === 'active') await c.query('SELECT app.wake_mailbox_sends($1)', [id]);
          return await get(c, id);
        }),
      );
    },

    /** Runs the worker's check again (the "test connection" button); false when no such mailbox. */
    async requestVerification(id: string): Promise<MailboxRow | undefined> {
      return await db.tenant(async (c) => {
        const row = await get(c, id);
        if (row) await queueVerification(c, id);
        return row;
      });
    },

    /**
     * False when no such mailbox. Refused (422 `mailbox_in_use`) while a campaign, a campaign's
     * rotation, an enrollment pinned to it or a message refers to it (the references restrict it).
     */
    async delete(id: string): Promise<boolean> {
      try {
        const { rowCount } = await db.tenant((c) =>
          c.query('DELETE FROM outreach.mailboxes WHERE id = $1', [id]),
        );
        return (rowCount ?? 0) > 0;
      } catch (error) {
        if (!isStillReferenced(error)) throw error;
        throw unprocessable(
          'mailbox_in_use',
          'A campaign or a message uses this mailbox (a campaign sends from it or rotates across it, or messages were sent from it): take it out of its campaigns, or disable it (status: disabled), which keeps its history.',
        );
      }
    },
  };
}
