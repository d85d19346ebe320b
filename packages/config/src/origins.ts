/**
 * Web origins as the browser sends them in `Origin` (RFC 6454 serialisation): scheme http or
 * https, lower-case host, port only when not the default, no path and no trailing slash. A CORS
 * allow-list compares strings, so anything else in it could never match: refused at boot instead.
 */
export function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

function split(value: string): string[] {
  return value
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
}

/** A comma-separated list of at least one origin, every one valid (`*` is not an origin). */
export function isOriginList(value: string): boolean {
  const origins = split(value);
  return origins.length > 0 && origins.every(isOrigin);
}

/** The origins of a value `Origins()` validated (none when unset). */
export function parseOrigins(value: string | undefined): string[] {
  return value === undefined ? [] : [...new Set(split(value))];
}
