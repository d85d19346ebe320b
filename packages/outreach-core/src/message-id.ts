import { createHash } from 'node:crypto';

/**
 * Message-IDs as outreach.messages stores them (CHECK `^<[^<>\s]+>$`), normalised once for both
 * inbound doors: the webhook posts header values (`<id> (comment)`), the IMAP poller hands the
 * envelope's id (sometimes without brackets). A value that cannot be made valid is dropped, never
 * written: an invalid id would fail the insert and block the mailbox's poll.
 */

const BRACKETED = /<[^<>\s]+>/g;
const BARE = /^[^<>\s@]+@[^<>\s@]+$/;
/** RFC 5322 lines are at most 998 characters; a longer "id" is not one. */
const MAX_LENGTH = 998;

/** The first `<id>` of a header value, or a bare `local@domain` put in brackets; else undefined. */
export function normaliseMessageId(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const id = value.match(BRACKETED)?.[0] ?? (BARE.test(value.trim()) ? `<${value.trim()}>` : undefined);
  return id && id.length <= MAX_LENGTH ? id : undefined;
}

/** Every valid Message-ID of header values (In-Reply-To, References), in order, deduplicated, at most `max`. */
export function messageIdsIn(values: readonly (string | null | undefined)[], max = 50): string[] {
  const ids = new Set<string>();
  for (const value of values) {
    const found = value?.match(BRACKETED) ?? [];
    const all = found.length ? found : [normaliseMessageId(value)];
    for (const id of all) if (id && id.length <= MAX_LENGTH) ids.add(id);
  }
  return [...ids].slice(0, max);
}

/**
 * The ids a message answers, the likeliest parent first: In-Reply-To, then References last first
 * (RFC 5322 §3.6.4: the last entry is the direct parent, the first the thread's root). A reply
 * naming two of our messages (a thread that moved on, a forward) answers the nearest one.
 */
export function answeredMessageIds(
  inReplyTo: string | null | undefined,
  references: readonly (string | null | undefined)[],
  max = 50,
): string[] {
  // All of References before reversing: a long chain must not lose its last (nearest) entries.
  return messageIdsIn([inReplyTo, ...messageIdsIn(references, Number.POSITIVE_INFINITY).reverse()], max);
}

/**
 * The id kept for a message that has no usable Message-ID: derived from its content, so reading
 * the same message again (a second webhook delivery, a poll after a UIDVALIDITY reset) gives the
 * same id and the store's (organisation, Message-ID) key recognises it.
 */
export function contentMessageId(
  content: readonly (string | readonly string[] | null | undefined)[],
): string {
  const digest = createHash('sha256')
    .update(JSON.stringify(content.map((x) => x ?? null)))
    .digest('hex')
    .slice(0, 40);
  return `<inbound.${digest}@prospectflow.invalid>`;
}
