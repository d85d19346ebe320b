import type { IncomingMessage } from 'node:http';
import type { Attributes } from '@opentelemetry/api';
import { ATTR_URL_PATH, ATTR_URL_QUERY } from '@opentelemetry/semantic-conventions';

/** Rewrites a request's path and query (`/u/abc?x=1`) into what a span may keep. */
export type UrlRedactor = (url: string) => string;

// On globalThis: the register hook (dist/register.js) and the application (dist/index.js) are
// separate bundles, each with its own copy of this module.
const REDACTOR = Symbol.for('prospectflow.telemetry.urlRedactor');
type Global = typeof globalThis & { [REDACTOR]?: UrlRedactor };

/** Without an application's rule: the path as is, the query string (tokens, addresses…) replaced. */
function withoutQuery(url: string): string {
  const at = url.indexOf('?');
  return at === -1 ? url : `${url.slice(0, at)}?[redacted]`;
}

/**
 * The application's rule for request URLs in spans (the one its logs use): span attributes are
 * exported to a collector, so bearer tokens in paths and query strings must not reach them.
 */
export function redactTracedUrls(redact: UrlRedactor): void {
  (globalThis as Global)[REDACTOR] = redact;
}

/** A request URL as spans record it. */
export function tracedUrl(url: string): string {
  const redact = (globalThis as Global)[REDACTOR];
  if (!redact) return withoutQuery(url);
  try {
    return redact(url);
  } catch {
    return '[redacted]';
  }
}

/** The http server span's url.path and url.query (they override the instrumentation's own). */
export function incomingUrlAttributes(request: IncomingMessage): Attributes {
  const url = request.url ?? '/';
  const redacted = tracedUrl(url);
  const at = redacted.indexOf('?');
  return {
    [ATTR_URL_PATH]: at === -1 ? redacted : redacted.slice(0, at),
    ...(url.includes('?') ? { [ATTR_URL_QUERY]: at === -1 ? '[redacted]' : redacted.slice(at + 1) } : {}),
  };
}
