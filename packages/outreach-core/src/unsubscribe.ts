import type { Queryable } from './stats.js';
import { stopEnrollment } from './stop.js';

/**
 * The subject a recipient's mail client sends to the mailto address of List-Unsubscribe
 * (`mailto:<the sending mailbox>?subject=unsubscribe%20<token>`, apps/worker compose), with the
 * prefixes a client may add (Re:, Fwd:, AW:, TR:). The token is the message's unsubscribe token.
 */
const UNSUBSCRIBE_SUBJECT = /^(?:\s*(?:re|fwd?|aw|tr)\s*:)*\s*unsubscribe\s+([A-Za-z0-9_-]{1,128})\s*$/i;

/** The unsubscribe token a mailto unsubscribe names in its subject, if it is one. */
export function mailtoUnsubscribeToken(subject: string | null | undefined): string | undefined {
  return subject ? UNSUBSCRIBE_SUBJECT.exec(subject)?.[1] : undefined;
}

/**
 * An unsubscribe by the token of one of our messages (the one-click link, or a mailto
 * unsubscribe read from the inbox): its address suppressed and every enrollment of it stopped as
 * unsubscribed. Idempotent; false when no message of the organisation (RLS) has this token.
 */
export async function unsubscribeByToken(client: Queryable, token: string, at: Date): Promise<boolean> {
  const { rows } = await client.query<{ id: string; enrollment_id: string | null; to_address: string }>(
    'SELECT id, enrollment_id, to_address::text AS to_address FROM outreach.messages WHERE unsubscribe_token = $1',
    [token],
  );
  const message = rows[0];
  if (!message) return false;
  // A message outside any enrollment still suppresses its address; then every enrollment of it stops.
  await stopEnrollment(client, {
    ...(message.enrollment_id
      ? { enrollmentId: message.enrollment_id, email: message.to_address }
      : { email: message.to_address }),
    reason: 'unsubscribe',
    messageId: message.id,
    at,
  });
  return true;
}
