import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * What every response may be rendered with: nothing loaded, never framed. The recipient pages
 * (/u/{token}, HTML) keep their inline stylesheet and post their form back to this origin only.
 */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
export const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** One year, the usual preload value; sent in production only (a dev host may serve plain http). */
const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Sets the security headers an answer lacks (a header the route set itself is kept):
 * - `x-content-type-options: nosniff`, `x-frame-options: DENY` and a CSP with `frame-ancestors
 *   'none'`: a JSON answer is never sniffed into a document, no page is framed (clickjacking of the
 *   unsubscribe and erasure buttons);
 * - `referrer-policy: no-referrer`: a recipient page's URL holds its token, which must not travel
 *   to the links it shows (the organisation's privacy notice);
 * - `cache-control: no-store` on answers to a request with credentials (personal data stays out of
 *   browser and intermediary caches);
 * - `strict-transport-security` when `production`.
 */
export function setSecurityHeaders(request: FastifyRequest, reply: FastifyReply, production: boolean): void {
  const set = (name: string, value: string) => {
    if (!reply.hasHeader(name)) reply.header(name, value);
  };
  set('x-content-type-options', 'nosniff');
  set('x-frame-options', 'DENY');
  set('referrer-policy', 'no-referrer');
  const type = String(reply.getHeader('content-type') ?? '');
  set('content-security-policy', type.startsWith('text/html') ? PAGE_CSP : API_CSP);
  if (request.headers.authorization !== undefined) set('cache-control', 'no-store');
  if (production) set('strict-transport-security', HSTS);
}
