import { ImapFlow, type ListResponse } from 'imapflow';
import type { MailboxAccount } from './account.js';
import { exchangeDeadlineMs, imapOptions, type MailAccess, withinDeadline } from './connect.js';

/** Names providers give the Sent folder when the server does not mark it \Sent (RFC 6154). */
const SENT_NAMES = ['sent', 'sent items', 'sent messages', 'sent mail', '[gmail]/sent mail', 'inbox.sent'];

/** The Sent folder: the one flagged \Sent, else the first with a usual name. */
export function sentFolderOf(folders: Pick<ListResponse, 'path' | 'specialUse'>[]): string | undefined {
  const flagged = folders.find((f) => f.specialUse === '\\Sent');
  if (flagged) return flagged.path;
  return folders.find((f) => SENT_NAMES.includes(f.path.toLowerCase()))?.path;
}

export interface SentCheck {
  /** The message is in the Sent folder: the provider accepted it. */
  found: boolean;
  /** The folder searched (undefined: the mailbox has none, so nothing can be known). */
  folder: string | undefined;
  /** IMAP commands sent (connect to logout). */
  roundTrips: number;
}

/**
 * Looks for a Message-ID in the mailbox's Sent folder over IMAP. Providers such as Gmail and
 * Microsoft 365 file every SMTP submission there, so a message found was accepted by SMTP even if
 * the worker died before recording it: the caller records it as sent instead of sending it twice.
 * Errors (login, network) are thrown: the caller must not take "could not look" for "not there".
 */
export async function findInSent(
  account: MailboxAccount,
  access: MailAccess,
  messageId: string,
): Promise<SentCheck> {
  // The header search is a substring match: search the bare id, then compare exactly.
  const bare = messageId.trim().replace(/^<|>$/g, '');
  if (!/^[^\s<>"]+$/.test(bare)) throw new Error('not a Message-ID');
  let roundTrips = 0;
  const client = new ImapFlow(await imapOptions(account, access));
  client.on('error', () => {});
  const exec = (client as unknown as { exec: (...args: unknown[]) => Promise<unknown> }).exec.bind(client);
  (client as unknown as { exec: typeof exec }).exec = (...args) => {
    roundTrips += 1;
    return exec(...args);
  };
  const search = async (): Promise<SentCheck> => {
    await client.connect();
    const folder = sentFolderOf(await client.list());
    if (!folder) {
      await client.logout();
      return { found: false, folder, roundTrips };
    }
    const lock = await client.getMailboxLock(folder, { readOnly: true });
    let found = false;
    try {
      const uids = await client.search({ header: { 'message-id': bare } }, { uid: true });
      if (uids && uids.length > 0) {
        const messages = await client.fetchAll(uids, { envelope: true }, { uid: true });
        found = messages.some((m) => m.envelope?.messageId?.replace(/^<|>$/g, '') === bare);
      }
    } finally {
      lock.release();
    }
    await client.logout();
    return { found, folder, roundTrips };
  };
  try {
    // A server that answers a byte at a time is never idle: cut it off (the caller retries later).
    return await withinDeadline(
      search(),
      exchangeDeadlineMs(access),
      () => client.close(),
      'the IMAP server did not finish answering',
    );
  } finally {
    client.close();
  }
}
