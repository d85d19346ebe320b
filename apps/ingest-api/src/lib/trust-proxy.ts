import { isIP } from 'node:net';

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
  return { value: entries };
}
