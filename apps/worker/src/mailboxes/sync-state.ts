import type { TenantClient } from '@prospectflow/tenant-context';
import type { Checkpoint } from './inbox.js';

/** A mailbox's INBOX as the poller left it, and since when older mail is not read (see `since`). */
export interface SyncState {
  checkpoint: Checkpoint | undefined;
  /** A first read (or a re-read after UIDVALIDITY changed) starts from messages received since then. */
  since: Date;
}

/**
 * Replies and bounces can only answer what the platform sent, after the mailbox was verified; a
 * recreated INBOX (new UIDVALIDITY) only needs what arrived since the last poll that caught up.
 * One day of margin: IMAP SEARCH SINCE compares dates, not times, in the server's time zone.
 */
const MARGIN_MS = 24 * 3600 * 1000;

export async function loadSyncState(
  c: TenantClient,
  mailboxId: string,
  folder: string,
): Promise<SyncState | undefined> {
  const { rows } = await c.query<{
    verified_at: Date | null;
    uid_validity: string | null;
    last_uid: string | null;
    last_polled_at: Date | null;
  }>(
    `SELECT m.verified_at, s.uid_validity, s.last_uid, s.last_polled_at
     FROM outreach.mailboxes m
     LEFT JOIN outreach.mailbox_sync_states s ON s.mailbox_id = m.id AND s.folder = $2
     WHERE m.id = $1`,
    [mailboxId, folder],
  );
  const row = rows[0];
  if (!row) return undefined;
  const from = row.last_polled_at ?? row.verified_at ?? new Date();
  return {
    checkpoint:
      row.uid_validity !== null
        ? { uidValidity: BigInt(row.uid_validity), lastUid: Number(row.last_uid) }
        : undefined,
    since: new Date(from.getTime() - MARGIN_MS),
  };
}

export interface Progress {
  uidValidity: bigint;
  lastUid: number;
  /** Messages passed over in this step, and the last one's description. */
  skipped: number;
  lastSkip?: string;
  /** Every message the poll found is handled: the poll's time becomes the re-read point. */
  caughtUp: boolean;
  /** The mailbox's credentials_version the poll connected with. */
  credentialsVersion: number;
}

/**
 * Upserts the checkpoint (in the transaction that applied the messages up to `lastUid`), unless
 * the mailbox's connection changed since the poll read it: the checkpoint is the old INBOX's, and
 * the change has just dropped it. The mailbox row is locked FOR SHARE, so a change committing at
 * the same time either comes first (nothing is written) or waits and drops this checkpoint too.
 */
export async function saveProgress(c: TenantClient, mailboxId: string, folder: string, p: Progress) {
  await c.query(
    `INSERT INTO outreach.mailbox_sync_states AS s
       (mailbox_id, folder, uid_validity, last_uid, last_polled_at, skipped_messages, last_skip)
     SELECT $1, $2, $3, $4, CASE WHEN $7 THEN now() END, $5, $6
       FROM outreach.mailboxes m WHERE m.id = $1 AND m.credentials_version = $8 FOR SHARE OF m
     ON CONFLICT (organisation_id, mailbox_id, folder) DO UPDATE SET
       last_uid = CASE WHEN s.uid_validity IS DISTINCT FROM excluded.uid_validity THEN excluded.last_uid
                       ELSE greatest(s.last_uid, excluded.last_uid) END,
       uid_validity = excluded.uid_validity,
       skipped_messages = s.skipped_messages + excluded.skipped_messages,
       last_skip = coalesce(excluded.last_skip, s.last_skip),
       last_polled_at = CASE WHEN $7 THEN now() ELSE s.last_polled_at END,
       last_error = CASE WHEN $7 THEN NULL ELSE s.last_error END`,
    [
      mailboxId,
      folder,
      p.uidValidity.toString(),
      p.lastUid,
      p.skipped,
      p.lastSkip?.slice(0, 1000) ?? null,
      p.caughtUp,
      p.credentialsVersion,
    ],
  );
}

/** Records a failed poll, whether or not the mailbox was ever read (no checkpoint row yet). */
export async function recordError(c: TenantClient, mailboxId: string, folder: string, error: string) {
  await c.query(
    `INSERT INTO outreach.mailbox_sync_states AS s (mailbox_id, folder, last_error, last_error_at)
     VALUES ($1, $2, $3, now())
     ON CONFLICT (organisation_id, mailbox_id, folder) DO UPDATE SET
       last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
    [mailboxId, folder, error.slice(0, 500)],
  );
}
