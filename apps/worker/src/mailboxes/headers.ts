/** A message's header block (as IMAP FETCH returns it): lower-cased names → unfolded values. */
export function parseHeaders(raw: Buffer | undefined): Map<string, string> {
  const headers = new Map<string, string>();
  const text = (raw?.toString('utf8') ?? '').replace(/\r?\n[ \t]+/g, ' ');
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) headers.set(line.slice(0, at).trim().toLowerCase(), line.slice(at + 1).trim());
  }
  return headers;
}
