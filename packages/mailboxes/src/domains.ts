import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';

/** The TXT record an organisation publishes to prove it controls a domain. */
export const PROOF_PREFIX = '_prospectflow';
export const PROOF_VALUE_PREFIX = 'prospectflow-verification=';

/** LDH labels; the top-level one letters only or an A-label (xn--…, an internationalised TLD). */
const DOMAIN =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59}[a-z0-9])$/;

export function normaliseDomain(domain: string): string {
  const value = domain.trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(value)) throw new TypeError(`"${domain}" is not a domain name`);
  return value;
}

/** 128 random bits, hex. */
export function newProofToken(): string {
  return randomBytes(16).toString('hex');
}

export function proofRecord(domain: string, token: string): { name: string; type: 'TXT'; value: string } {
  return {
    name: `${PROOF_PREFIX}.${normaliseDomain(domain)}`,
    type: 'TXT',
    value: `${PROOF_VALUE_PREFIX}${token}`,
  };
}

export interface DnsOptions {
  /** DNS servers ("127.0.0.1:5353"); the system's when omitted (DNS_SERVERS in the apps). */
  servers?: string[];
  timeoutMs?: number;
}

export function resolverFor(options: DnsOptions = {}): Resolver {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 5_000, tries: 2 });
  if (options.servers?.length) resolver.setServers(options.servers);
  return resolver;
}

/**
 * `absent`: DNS answered and the proof is not there (no such name, no TXT record, or none with the
 * value) — a removed proof. false: the lookup itself failed (timeout, SERVFAIL, refused): nothing
 * is known about the record.
 */
export type ProofResult =
  | { proved: true }
  | { proved: false; absent: boolean; reason: string; found: string[] };

/** DNS answers that say the name or its TXT record does not exist (not a failed lookup). */
const ABSENT_CODES = new Set(['ENOTFOUND', 'ENODATA']);

/** Looks up `_prospectflow.<domain>` TXT and requires an exact match of the expected value. */
export async function checkDomainProof(
  domain: string,
  token: string,
  options: DnsOptions = {},
): Promise<ProofResult> {
  const record = proofRecord(domain, token);
  let found: string[];
  try {
    // A TXT record may be split in 255-byte chunks: join each record's chunks.
    found = (await resolverFor(options).resolveTxt(record.name)).map((chunks) => chunks.join(''));
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'ERROR';
    return {
      proved: false,
      absent: ABSENT_CODES.has(code),
      reason: `DNS lookup of ${record.name} TXT failed (${code})`,
      found: [],
    };
  }
  if (found.includes(record.value)) return { proved: true };
  return {
    proved: false,
    absent: true,
    reason: `${record.name} has no TXT record "${record.value}"`,
    found,
  };
}

export interface DkimKey {
  selector: string;
  /** PKCS#8 PEM: seal it before storing. */
  privateKeyPem: string;
  /** `<selector>._domainkey.<domain>` */
  recordName: string;
  /** `v=DKIM1; k=rsa; p=<base64 SPKI DER>` */
  recordValue: string;
}

/** A fresh RSA-2048 DKIM key; the selector names the key (rotate = new selector). */
export function generateDkimKey(
  domain: string,
  selector = `pf${new Date().toISOString().slice(0, 10).replace(/-/g, '')}${randomBytes(2).toString('hex')}`,
): DkimKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    selector,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    recordName: `${selector}._domainkey.${normaliseDomain(domain)}`,
    recordValue: `v=DKIM1; k=rsa; p=${spki}`,
  };
}
