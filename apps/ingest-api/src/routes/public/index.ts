import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { recordOpen, unsubscribe } from '../../outreach/public-events.js';

// 1×1 transparent GIF. Same bytes for every token, known or not.
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const publicRoute = { auth: false } as const;
// The links in every email are short: /t/{token}.gif and /u/{token} at the root.
export const prefixOverride = '';
const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) });

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">${body}</body></html>`;
}

/**
 * Public tracking and unsubscribe links (tokens in the URL, no cookies, no auth). Unknown tokens
 * get the same status and body as known ones, so a response tells nothing about a token.
 */
const publicOutreach: FastifyPluginAsyncTypebox = async (fastify) => {
  // RFC 8058 one-click POSTs `List-Unsubscribe=One-Click` as a form; nothing in it is needed.
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_req, body, done) => done(null, body),
  );

  fastify.get(
    '/t/:file',
    {
      config: publicRoute,
      schema: {
        tags: ['tracking'],
        summary: 'Open-tracking pixel: a 1×1 GIF; records the open (token.gif)',
        params: Type.Object({ file: Type.String({ maxLength: 140 }) }),
      },
    },
    async (request, reply) => {
      const token = request.params.file.replace(/\.gif$/, '');
      const userAgent = request.headers['user-agent'];
      // Answer first, record after: the response time never depends on the token.
      setImmediate(() => {
        recordOpen(fastify.db.pool, token, userAgent).catch((error) =>
          request.log.warn({ err: error }, 'open not recorded'),
        );
      });
      return reply
        .header('cache-control', 'no-store, no-cache, must-revalidate, private')
        .header('pragma', 'no-cache')
        .type('image/gif')
        .send(PIXEL);
    },
  );

  fastify.get(
    '/u/:token',
    {
      config: publicRoute,
      schema: {
        tags: ['tracking'],
        summary: 'Unsubscribe confirmation page (does NOT unsubscribe; RFC 8058)',
        params: TokenParams,
      },
    },
    async (request, reply) => {
      const action = `/u/${encodeURIComponent(request.params.token)}`;
      return reply
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(
          page(
            'Unsubscribe',
            `<h1>Unsubscribe?</h1><p>You will receive no more emails from this sender.</p>
<form method="post" action="${action}"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form>`,
          ),
        );
    },
  );

  fastify.post(
    '/u/:token',
    {
      config: publicRoute,
      schema: {
        tags: ['tracking'],
        summary: 'One-click unsubscribe (RFC 8058): suppression + enrollment unsubscribed',
        params: TokenParams,
      },
    },
    async (request, reply) => {
      await unsubscribe(fastify.db.pool, request.params.token);
      return reply
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(
          page(
            'Unsubscribed',
            '<h1>You are unsubscribed</h1><p>You will receive no more emails from this sender.</p>',
          ),
        );
    },
  );
};

export default publicOutreach;
