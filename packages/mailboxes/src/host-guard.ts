import { lookup, Resolver } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { ServerEndpoint } from './account.js';

/**
 * Addresses a user-supplied mail host must not resolve to (SSRF): loopback, private, link-local
 * (incl. cloud metadata 169.254.169.254 and fd00:ec2::254), IPv6 site-local (fec0::/10, deprecated
 * by RFC 3879 but still routed where configured), carrier-grade NAT, unspecified,
 * multicast, reserved, benchmarking and documentation ranges, their IPv4-mapped IPv6 forms, and the
 * IPv6 forms that carry an IPv4 address a gateway may route to (IPv4-compatible ::a.b.c.d,
 * IPv4-translated ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96 and its local-use 64:ff9b:1::/48, 6to4
 * 2002::/16, Teredo 2001::/32; no public mail server is reached through them).
 */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:2::', 48],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['3fff::', 20],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv6');

export type HostRefusal = 'not_resolvable' | 'private_address' | 'invalid_host' | 'plaintext_refused';

export class HostRefusedError extends Error {
  override name = 'HostRefusedError';
  constructor(
    readonly host: string,
    readonly reason: HostRefusal,
    message: string,
  ) {
    super(message);
  }
}

export interface HostGuardOptions {
  /**
   * Operator allow-list (MAIL_HOST_ALLOWLIST, comma-separated): host names or IP addresses that may
   * resolve to blocked ranges, e.g. "127.0.0.1,localhost" for tests and `pnpm dev`.
   */
  allow?: readonly string[];
  /** Resolver (default: the system's, like the SMTP/IMAP libraries would use). */
  resolve?: (host: string) => Promise<string[]>;
}

export function parseAllowList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter(Boolean);
}

/** A resolver function for guardHost that asks these DNS servers (A and AAAA) instead of the system's. */
export function dnsServersResolve(servers: string[]): (host: string) => Promise<string[]> {
  const resolver = new Resolver({ timeout: 5_000, tries: 2 });
  resolver.setServers(servers);
  return async (host) => {
    const settled = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    return settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
  };
}

const systemResolve = async (host: string) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

// IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it carries. Kept apart from
// BLOCKED: a ::ffff:0:0/96 rule there would also match every plain IPv4 address.
const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

function mappedIpv4(address: string): string {
  const dotted = address.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) return dotted[1]!;
  const [high, low] = address
    .split(':')
    .slice(-2)
    .map((h) => Number.parseInt(h || '0', 16));
  return [high! >> 8, high! & 255, low! >> 8, low! & 255].join('.');
}

function blocked(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, 'ipv4');
  if (family !== 6) return true;
  if (MAPPED.check(address, 'ipv6')) return BLOCKED.check(mappedIpv4(address), 'ipv4');
  return BLOCKED.check(address, 'ipv6');
}

/** The allow-list's form of a host: lower case, no trailing dot, no brackets around an IPv6 literal. */
const bareHost = (host: string) =>
  host
    .trim()
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/^\[(.*)\]$/, '$1');
const allowed = (options: HostGuardOptions, ...names: string[]) =>
  names.some((n) => (options.allow ?? []).some((a) => a.toLowerCase() === n.toLowerCase()));

/**
 * Resolves a user-supplied host and returns the address to connect to (connect to it, not to the
 * name again: a second lookup could answer differently). Refuses names that do not resolve and any
 * name with an address in a blocked range, unless the allow-list names the host or that address.
 */
export async function guardHost(host: string, options: HostGuardOptions = {}): Promise<string> {
  const bare = bareHost(host);
  if (!/^[a-z0-9.:_-]{1,253}$/.test(bare))
    throw new HostRefusedError(host, 'invalid_host', `"${host}" is not a host name or IP address`);
  let addresses: string[];
  if (isIP(bare)) addresses = [bare];
  else {
    try {
      addresses = await (options.resolve ?? systemResolve)(bare);
    } catch {
      addresses = [];
    }
  }
  if (addresses.length === 0)
    throw new HostRefusedError(host, 'not_resolvable', `${host} does not resolve to any address`);
  if (allowed(options, bare)) return addresses[0]!;
  const refused = addresses.find((a) => blocked(a) && !allowed(options, a));
  if (refused)
    throw new HostRefusedError(
      host,
      'private_address',
      `${host} resolves to ${refused}, a loopback, private, link-local or reserved address; an operator can allow it with MAIL_HOST_ALLOWLIST`,
    );
  return addresses[0]!;
}

/**
 * guardHost for a mail server, plus the plain-text rule: `security: 'none'` would send the password
 * (or token) unencrypted, so only a server the allow-list names — a test or in-house server — may
 * use it. Both the API (on write) and the worker (on connect) apply it.
 */
export async function guardServer(
  server: Pick<ServerEndpoint, 'host' | 'security'>,
  options: HostGuardOptions = {},
): Promise<string> {
  const address = await guardHost(server.host, options);
  if (server.security === 'none' && !allowed(options, bareHost(server.host), address))
    throw new HostRefusedError(
      server.host,
      'plaintext_refused',
      `${server.host} without TLS would carry the credentials in clear: use tls or starttls (an operator can allow plain text for a host with MAIL_HOST_ALLOWLIST)`,
    );
  return address;
}
