import { type MailboxSecrets, mailboxSecretBinding } from '@prospectflow/mailboxes';
import { DecryptionError } from '@prospectflow/secrets';
import type { FastifyInstance } from 'fastify';
import { isProblemError, unprocessable } from '../lib/problem.js';
import type { ConnectionChange, MailboxWritable, StoredMailbox } from '../repositories/mailboxes.js';
import { type ConnectionInput, checkHosts, mergeConnection } from './connection.js';

// What a mailbox create or change goes through: the mailbox routes and the OAuth consent's.

export function checkZone(zone: unknown): void {
  if (typeof zone !== 'string') return;
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    throw unprocessable('invalid_time_zone', `"${zone}" is not an IANA time zone.`);
  }
}

const CONNECTION_KEYS = ['provider', 'smtp', 'imap', 'oauth'] as const;
export function split(body: Record<string, unknown>): { values: MailboxWritable; input: ConnectionInput } {
  const values: Record<string, unknown> = {};
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body))
    ((CONNECTION_KEYS as readonly string[]).includes(k) ? input : values)[k] = v;
  return { values: values as MailboxWritable, input: input as ConnectionInput };
}

/**
 * A connection change checked and sealed: merged over what is stored, hosts checked against SSRF,
 * secrets sealed to (organisation, mailbox) when one changed — never stored or logged in clear.
 * `mailbox` is a new mailbox's fresh id, or the stored mailbox: its id as the database has it is
 * the binding (never the id a client typed, whose case may differ and would not open again).
 */
export async function prepareChange(
  fastify: FastifyInstance,
  organisationId: string,
  mailbox: { id: string } | StoredMailbox,
  input: ConnectionInput,
  fromAddress: string,
): Promise<ConnectionChange> {
  const stored = 'connection' in mailbox ? mailbox : undefined;
  const binding = mailboxSecretBinding(organisationId, mailbox.id);
  const secretGiven = Boolean(input.smtp?.password || input.imap?.password || input.oauth);
  // The stored secrets are merged under every change (a new port keeps the password). If they no
  // longer open (copied from another record, or damaged), a change that gives every secret again
  // repairs the mailbox; one that would need them is refused with the reason.
  let current: MailboxSecrets | null = {};
  if (stored?.sealed) {
    try {
      current = await fastify.secretBox().openJson<MailboxSecrets>(stored.sealed, binding);
    } catch (error) {
      if (!(error instanceof DecryptionError)) throw error;
      current = null;
    }
  }
  const unreadable = current === null;
  let merged: ReturnType<typeof mergeConnection>;
  try {
    merged = mergeConnection(
      stored?.connection ?? { provider: 'relay', smtp: null, imap: null },
      current,
      input,
      fromAddress,
    );
  } catch (error) {
    if (unreadable && isProblemError(error) && error.code === 'mailbox_connection_incomplete')
      throw unprocessable(
        'mailbox_secrets_unreadable',
        'The stored credentials of this mailbox do not open (copied from elsewhere or damaged): give every secret again.',
        { errors: error.extensions.errors },
      );
    throw error;
  }
  const { connection, secrets } = merged;
  await checkHosts(connection, fastify.config.mail);
  const reseal =
    connection.provider !== 'relay' &&
    (secretGiven || unreadable || !stored?.sealed || connection.provider !== stored.connection.provider);
  return {
    connection,
    ...(reseal ? { sealed: await fastify.secretBox().sealJson(secrets, binding) } : {}),
    ...(stored ? { basedOn: stored.credentialsVersion } : {}),
  };
}
