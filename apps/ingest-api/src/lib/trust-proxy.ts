import { BlockList, isIP } from 'node:net';

/** Fastify's `trustProxy`: off, a hop count, or the proxies' addresses/CIDRs — never "trust all". */
export type TrustProxy = false | number | string[];

function validCidr(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Narrowest prefix accepted: an IPv4 /8 (e.g. 10.0.0.0/8), an IPv6 /7 (e.g. fc00::/7). */
const WIDEST = { 4: 8, 6: 7 } as const;

/**
 * True when the range `address/prefix` trusts (nearly) every client. Fastify (proxy-addr) matches
 * an IPv4 client against an IPv6 range as ::ffff:a.b.c.d, so an IPv6 range that holds the whole
 * IPv4-mapped block trusts every IPv4 client, and one inside it is an IPv4 range.
 */
function tooWide(address: string, prefix: number): boolean {
  if (isIP(address) === 4) return prefix < WIDEST[4];
  const range = new BlockList();
  range.addSubnet(address, prefix, 'ipv6');
  if (range.check('::ffff:0:0', 'ipv6') && range.check('::ffff:ffff:ffff', 'ipv6')) return true;
  const canonical = new URL(`http://[${address}]`).hostname;
  if (canonical.startsWith('[::ffff:') && prefix >= 96) return prefix - 96 < WIDEST[4];
  return prefix < WIDEST[6];
}

/**
 * TRUST_PROXY: '' / 'false' → off; a whole number → that many proxy hops; otherwise a comma list
 * of addresses or CIDRs. 'true' (every hop, so any client could forge X-Forwarded-For and with it
 * its rate-limit key) is refused with the reason. Returns the value, or a problem sentence.
 */
export function parseTrustProxy(raw: string | undefined): { value: TrustProxy } | { problem: string } {
  const text = (raw ?? '').trim();
  if (text === '' || text === 'false' || text === '0') return { value: false };
  if (text === 'true')
    return {
      problem:
        "TRUST_PROXY=true would trust every hop (any client could forge X-Forwarded-For); give the hop count (e.g. 1) or the proxies' CIDRs (e.g. 10.0.0.0/8)",
    };
  if (/^\d+$/.test(text)) return { value: Number(text) };
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const bad = entries.filter((entry) => !validCidr(entry));
  if (bad.length > 0)
    return {
      problem: `TRUST_PROXY must be false, a hop count or addresses/CIDRs (not ${JSON.stringify(bad[0])})`,
    };
  const wide = entries.find((entry) => {
    const [address, prefix] = entry.split('/');
    return prefix !== undefined && tooWide(address!, Number(prefix));
  });
  if (wide)
    return {
      problem: `TRUST_PROXY ${JSON.stringify(wide)} would trust nearly every client (any client could forge X-Forwarded-For); name the proxies' own addresses or ranges (at most an IPv4 /8 or an IPv6 /7)`,
    };
  return { value: entries };
}
