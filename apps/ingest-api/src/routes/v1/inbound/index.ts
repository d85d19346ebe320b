import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ProblemError } from '../../../lib/problem.js';
import { InboundMail, processInbound } from '../../../outreach/inbound.js';

const MAX_SKEW_SECONDS = 300;

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`, compared in constant time. */
export function signInbound(secret: string, timestamp: string, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

const inbound: FastifyPluginAsyncTypebox = async (fastify) => {
  // The signature covers the exact bytes, so keep them (this plugin's scope only).
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: 1_048_576 },
    (request, body, done) => {
      (request as unknown as { rawBody: Buffer }).rawBody = body as Buffer;
      try {
        done(null, JSON.parse((body as Buffer).toString('utf8')));
      } catch {
        done(new ProblemError(400, 'invalid_json', 'The body is not valid JSON.'), undefined);
      }
    },
  );

  fastify.post(
    '',
    {
      config: { auth: false },
      schema: {
        tags: ['outreach'],
        summary: 'Inbound replies and bounce reports (HMAC-signed webhook): enrollment replied or bounced',
        headers: Type.Object({
          'x-prospectflow-timestamp': Type.String({ pattern: '^[0-9]{1,12}$' }),
          'x-prospectflow-signature': Type.String({ pattern: '^sha256=[0-9a-f]{64}$' }),
        }),
        body: InboundMail,
        response: {
          202: Type.Object({
            matched: Type.Boolean(),
            kind: Type.Union([Type.Literal('reply'), Type.Literal('auto_reply'), Type.Literal('bounce')]),
            enrollmentId: Type.Optional(Type.String()),
            duplicate: Type.Optional(Type.Boolean()),
          }),
        },
      },
    },
    async (request, reply) => {
      const secret = fastify.config.inboundWebhookSecret;
      if (!secret)
        throw new ProblemError(
          503,
          'inbound_not_configured',
          'INBOUND_WEBHOOK_SECRET is not set on this server.',
        );
      const timestamp = request.headers['x-prospectflow-timestamp'];
      const given = Buffer.from(request.headers['x-prospectflow-signature']);
      const expected = Buffer.from(
        signInbound(secret, timestamp, (request as unknown as { rawBody: Buffer }).rawBody),
      );
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new ProblemError(401, 'invalid_signature', 'The webhook signature does not match.');
      }
      if (Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS) {
        throw new ProblemError(
          401,
          'stale_signature',
          `The webhook timestamp is more than ${MAX_SKEW_SECONDS} s away from now.`,
        );
      }
      const result = await processInbound(fastify.db.pool, request.body as InboundMail);
      request.log.info({ inbound: result }, 'inbound mail processed');
      return reply.code(202).send(result);
    },
  );
};

export default inbound;
