import type { FastifyRequest } from 'fastify';

// Path segments that are bearer secrets: unsubscribe/recipient pages (/u/{token}…) and the open
// pixel (/t/{token}.gif). Whoever reads the logs must not be able to replay them.
const TOKEN_SEGMENT = /^\/(u|t)\/[^/?#]+/;

/** The URL as logged: path tokens and the whole query string (tokens, emails…) replaced. */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  const redactedPath = path.replace(TOKEN_SEGMENT, '/$1/[redacted]');
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
