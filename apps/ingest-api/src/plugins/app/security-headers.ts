import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppOptions } from '../../app.js';
import { setSecurityHeaders } from '../../lib/security-headers.js';

export { API_CSP, PAGE_CSP } from '../../lib/security-headers.js';

/**
 * Security headers on every answer (errors, 401/403/404/429 and public pages included), set in
 * onSend so none escapes them (lib/security-headers.ts says which; what the router refuses before
 * any hook runs gets them from frameworkErrors). A header a route set itself (Swagger UI's own CSP,
 * a page's cache-control) is kept.
 */
async function securityHeaders(fastify: FastifyInstance, opts: AppOptions) {
  const production = opts.config.nodeEnv === 'production';
  fastify.addHook('onSend', async (request, reply, payload) => {
    setSecurityHeaders(request, reply, production);
    return payload;
  });
}

export default fp(securityHeaders, { name: 'security-headers', fastify: '5.x' });
