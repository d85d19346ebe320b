import { Optional, Text } from '@prospectflow/config';
import { parseAllowList } from './host-guard.js';

/**
 * How an app reaches connected mailboxes' servers: the two settings the API (mailbox checks) and
 * the worker (sending, IMAP) both read, declared once for their @prospectflow/config schemas.
 */
export function mailNetworkEnv() {
  return {
    MAIL_HOST_ALLOWLIST: Optional(
      Text({ description: 'connected mailboxes: hosts allowed although private (comma-separated)' }),
    ),
    DNS_SERVERS: Optional(Text({ description: 'resolve mailbox hosts there ("127.0.0.1:5353,…")' })),
  };
}

export interface MailNetwork {
  /** MAIL_HOST_ALLOWLIST: hosts/addresses a mailbox may use although they are private (tests, pnpm dev). */
  hostAllowList: string[];
  /** DNS_SERVERS ("127.0.0.1:5353,…"): resolve mailbox hosts there instead of the system resolver. */
  dnsServers: string[];
}

/** The values of `mailNetworkEnv()`'s settings, parsed. */
export function mailNetworkFromEnv(values: {
  MAIL_HOST_ALLOWLIST?: string | undefined;
  DNS_SERVERS?: string | undefined;
}): MailNetwork {
  return {
    hostAllowList: parseAllowList(values.MAIL_HOST_ALLOWLIST),
    dnsServers: parseAllowList(values.DNS_SERVERS),
  };
}
