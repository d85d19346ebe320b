import { createHash, createPublicKey, verify } from 'node:crypto';

/**
 * An independent DKIM verifier (RFC 6376, relaxed/relaxed, rsa-sha256) for mail a test sink
 * received, against the public key of the domain's DNS record (`v=DKIM1; k=rsa; p=…`). Written
 * here rather than reusing nodemailer's signer code, so a test checks the signature, not itself.
 */
export interface DkimCheck {
  /** Signed header field names (h=), lower case, in order. */
  signed: string[];
  bodyHashOk: boolean;
  signatureOk: boolean;
}

const relaxedValue = (value: string) =>
  value
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();

const relaxedHeader = (field: string) => {
  const colon = field.indexOf(':');
  return `${field.slice(0, colon).trim().toLowerCase()}:${relaxedValue(field.slice(colon + 1))}`;
};

function relaxedBody(body: string): string {
  const lines = body.split('\r\n').map((line) => line.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.length ? `${lines.join('\r\n')}\r\n` : '';
}

export function verifyDkim(raw: string, dnsRecord: string): DkimCheck {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split + 2);
  const body = raw.slice(split + 4);
  // Header fields, unfolded later: a field is a line plus its continuation lines.
  const fields = head.split(/\r\n(?![ \t])/).filter((f) => f.length > 0);
  const signatureField = fields.find((f) => /^dkim-signature\s*:/i.test(f));
  if (!signatureField) throw new Error('no DKIM-Signature');
  const tags = new Map<string, string>();
  for (const tag of signatureField.slice(signatureField.indexOf(':') + 1).split(';')) {
    const eq = tag.indexOf('=');
    if (eq > 0) tags.set(tag.slice(0, eq).trim(), tag.slice(eq + 1).replace(/\s+/g, ''));
  }
  if (tags.get('a') !== 'rsa-sha256' || tags.get('c') !== 'relaxed/relaxed')
    throw new Error(`unexpected a=${tags.get('a')} c=${tags.get('c')}`);

  const bodyHash = createHash('sha256').update(relaxedBody(body), 'latin1').digest('base64');
  const signed = (tags.get('h') ?? '').split(':').map((h) => h.trim().toLowerCase());
  // Each name in h= takes the bottom-most field of that name not taken yet (RFC 6376 §5.4.2).
  const used = new Set<number>();
  let data = '';
  for (const name of signed) {
    for (let i = fields.length - 1; i >= 0; i -= 1) {
      if (used.has(i) || fields[i]!.slice(0, fields[i]!.indexOf(':')).trim().toLowerCase() !== name) continue;
      used.add(i);
      data += `${relaxedHeader(fields[i]!)}\r\n`;
      break;
    }
  }
  // The signature field itself, with its b= value empty and no trailing CRLF.
  data += relaxedHeader(signatureField.replace(/(^|;)(\s*b\s*=)[^;]*/, '$1$2'));
  const key = createPublicKey({
    key: Buffer.from(/(?:^|;)\s*p=([^;]+)/.exec(dnsRecord)![1]!.replace(/\s+/g, ''), 'base64'),
    format: 'der',
    type: 'spki',
  });
  return {
    signed,
    bodyHashOk: bodyHash === tags.get('bh'),
    signatureOk: verify(
      'sha256',
      Buffer.from(data, 'latin1'),
      key,
      Buffer.from(tags.get('b') ?? '', 'base64'),
    ),
  };
}
