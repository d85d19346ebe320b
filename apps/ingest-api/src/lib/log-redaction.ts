import type { FastifyRequest } from 'fastify';

// Path segments that are bearer secrets: unsubscribe/recipient pages (/u/{token}…) and the open
// pixel (/t/{token}.gif). Whoever reads the logs must not be able to replay them.
const TOKEN_SEGMENT = /^\/(u|t)\/[^/?#]+/;
// The same, on a path as the router may read it: percent-decoded (`/%75/…` is routed to /u/…),
// repeated slashes collapsed, either case.
const LOOSE_TOKEN_PATH = /^\/(u|t)(?:\/|$)/i;

/** The path percent-decoded (as the router reads it) with repeated slashes collapsed. */
function normalisedPath(path: string): string {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // A malformed escape: judge the raw path (the router refuses it anyway).
  }
  return decoded.replace(/\/{2,}/g, '/');
}

/** The URL as logged: path tokens and the whole query string (tokens, emails…) replaced. */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  let redactedPath = path.replace(TOKEN_SEGMENT, '/$1/[redacted]');
  if (redactedPath === path) {
    // Not the canonical form, but one that decodes to it (`/%75/{token}`, `//u/{token}`, `/U/…`):
    // nothing after the prefix is kept, since any of it may be (part of) the token.
    const loose = LOOSE_TOKEN_PATH.exec(normalisedPath(path));
    if (loose) redactedPath = `/${loose[1]!.toLowerCase()}/[redacted]`;
  }
  return queryAt === -1 ? redactedPath : `${redactedPath}?[redacted]`;
}

/** pino serializer for `req` (Fastify's default, with the URL redacted). */
export function requestSerializer(request: FastifyRequest) {
  return {
    method: request.method,
    url: redactUrl(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
