import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { appendVary } from '@prospectflow/auth-core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppOptions } from '../../app.js';
import { recordOpen, requestErasure, senderOfToken, unsubscribe } from '../../outreach/public-events.js';
import {
  confirmPage,
  erasureRequestedPage,
  type Lang,
  pickLanguage,
  type Sender,
  unsubscribedPage,
} from '../../outreach/recipient-pages.js';

// 1×1 transparent GIF. Same bytes for every token, known or not.
const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const publicRoute = { auth: false } as const;
// The links in every email are short: /t/{token}.gif and /u/{token} at the root.
export const prefixOverride = '';
const TokenParams = Type.Object({ token: Type.String({ minLength: 1, maxLength: 128 }) });

/**
 * Public tracking and unsubscribe links (tokens in the URL, no cookies, no auth). Unknown tokens
 * get the same status and body as known ones, so a response tells nothing about a token.
 */
const publicOutreach: FastifyPluginAsyncTypebox<AppOptions> = async (fastify, opts) => {
  // RFC 8058 one-click POSTs `List-Unsubscribe=One-Click` as a form — multipart/form-data (its
  // SHOULD) or urlencoded (its MAY); nothing in it is needed, so either is read and ignored.
  fastify.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'multipart/form-data'],
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
      // Answer first, record after: the response time never depends on the token. A HEAD (the
      // route Fastify adds beside GET: a link checker, a prefetch probe) fetches no image: no open.
      if (request.method === 'GET')
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

  const html = (reply: FastifyReply, body: string) =>
    appendVary(reply, 'Accept-Language')
      .header('cache-control', 'no-store')
      .header('content-language', body.includes('<html lang="fr">') ? 'fr' : 'en')
      .type('text/html; charset=utf-8')
      .send(body);
  /** The page for a link's token: its sender named, in the reader's language, posting back to the link. */
  const page = async (
    request: { params: { token: string }; headers: FastifyRequest['headers'] },
    reply: FastifyReply,
    render: (lang: Lang, action: string, sender: Sender | undefined) => string,
  ) => {
    const { token } = request.params;
    const sender = await senderOfToken(fastify.db.pool, token);
    const lang = pickLanguage(request.headers['accept-language']);
    return html(reply, render(lang, `/u/${encodeURIComponent(token)}`, sender));
  };

  fastify.get(
    '/u/:token',
    {
      config: publicRoute,
      schema: {
        tags: ['tracking'],
        summary: 'Unsubscribe page naming the sender, in French or English (does NOT unsubscribe; RFC 8058)',
        params: TokenParams,
      },
    },
    async (request, reply) => await page(request, reply, confirmPage),
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
      return await page(request, reply, unsubscribedPage);
    },
  );

  fastify.post(
    '/u/:token/erasure',
    {
      config: publicRoute,
      schema: {
        tags: ['tracking'],
        summary:
          'Erasure request from the recipient (Art. 17/21): objection now, erasure by an admin within a month',
        params: TokenParams,
      },
    },
    async (request, reply) => {
      await requestErasure(fastify.db.pool, opts.config.subjectKeys, request.params.token);
      return await page(request, reply, (lang, _action, sender) => erasureRequestedPage(lang, sender));
    },
  );
};

export default publicOutreach;
