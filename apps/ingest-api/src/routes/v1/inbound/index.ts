import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ProblemError } from '../../../lib/problem.js';
import { InboundMail, processInbound } from '../../../outreach/inbound.js';

const MAX_SKEW_SECONDS = 300;
const BODY_LIMIT = 1_048_576;

/** The signing headers' forms: the one definition for the check and the schema (OpenAPI). */
const TIMESTAMP = /^[0-9]{1,12}$/;
/** Hex is read in either case: `sha256=ABC…` is the same 32 bytes as `sha256=abc…`. */
const SIGNATURE = /^sha256=[0-9a-fA-F]{64}$/;

/** HMAC-SHA256(secret, "<timestamp>.<raw body>"): what the signature carries, as bytes. */
function inboundMac(secret: string, timestamp: string, rawBody: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
}

/** `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`, as the mail provider signs. */
export function signInbound(secret: string, timestamp: string, rawBody: string | Buffer): string {
  return `sha256=${inboundMac(secret, timestamp, rawBody).toString('hex')}`;
}

const unsigned = (detail: string) => new ProblemError(401, 'invalid_signature', detail);

/**
 * Configuration, then authentication, before anything about the request is looked at: 503 without
 * a secret; 401 `invalid_signature` for a missing or malformed header or a signature that does not
 * match the exact bytes received (compared in constant time); 401 `stale_signature` for a signed
 * timestamp more than 300 s away. Only a caller holding the secret learns anything of the body's
 * rules (invalid JSON, the schema).
 */
function authenticate(secret: string | undefined, request: FastifyRequest, rawBody: Buffer): void {
  if (!secret)
    throw new ProblemError(
      503,
      'inbound_not_configured',
      'INBOUND_WEBHOOK_SECRET is not set on this server.',
    );
  const timestamp = request.headers['x-prospectflow-timestamp'];
  const signature = request.headers['x-prospectflow-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string')
    throw unsigned(
      'The webhook is not signed: x-prospectflow-timestamp and x-prospectflow-signature (sha256=<hex>) are required.',
    );
  if (!TIMESTAMP.test(timestamp) || !SIGNATURE.test(signature))
    throw unsigned(
      'The webhook signature headers are malformed: x-prospectflow-timestamp is unix seconds, x-prospectflow-signature is sha256=<64 hex digits>.',
    );
  // Both are the 32 bytes of a SHA-256 HMAC (the pattern fixes the length): compared in constant time.
  const given = Buffer.from(signature.slice('sha256='.length), 'hex');
  if (!timingSafeEqual(given, inboundMac(secret, timestamp, rawBody)))
    throw unsigned('The webhook signature does not match.');
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS)
    throw new ProblemError(
      401,
      'stale_signature',
      `The webhook timestamp is more than ${MAX_SKEW_SECONDS} s away from now.`,
    );
}

/** The signed bytes, read as the JSON body they must be (only once the signature matched). */
function jsonBody(request: FastifyRequest, rawBody: Buffer | undefined): unknown {
  if (rawBody === undefined) return undefined;
  const mediaType = String(request.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (mediaType !== 'application/json')
    throw new ProblemError(415, 'unsupported_media_type', 'The webhook body is JSON (application/json).');
  try {
    return JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new ProblemError(400, 'invalid_json', 'The body is not valid JSON.');
  }
}

const inbound: FastifyPluginAsyncTypebox = async (fastify) => {
  // The signature covers the exact bytes, and nothing of the body is judged before it is checked:
  // every body is kept as received (this plugin's scope only) and read in preValidation.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, body, done) =>
    done(null, body),
  );
  // The body is then validated as every body is (lib/request-validation.ts): types as sent
  // (`subject: 42` is refused, not stored as "42"). InboundMail is deliberately an open object, so a
  // provider's extra fields are accepted and ignored rather than refused.

  fastify.post(
    '',
    {
      config: {
        auth: false,
        // Authenticated by its signature, not a bearer token: its refusals, for the API document.
        problems: { 401: ['invalid_signature', 'stale_signature'], 503: ['inbound_not_configured'] },
      },
      schema: {
        tags: ['outreach'],
        summary: 'Inbound replies and bounce reports (HMAC-signed webhook): enrollment replied or bounced',
        // Checked by the preValidation hook (401, before the body); declared for the API document.
        headers: Type.Object({
          'x-prospectflow-timestamp': Type.String({ pattern: TIMESTAMP.source }),
          'x-prospectflow-signature': Type.String({ pattern: SIGNATURE.source }),
        }),
        body: InboundMail,
        response: {
          202: Type.Object({
            matched: Type.Boolean(),
            kind: Type.Union(
              [
                Type.Literal('reply'),
                Type.Literal('auto_reply'),
                Type.Literal('bounce'),
                Type.Literal('unsubscribe'),
              ],
              {
                description:
                  "unsubscribe: a recipient's mailto unsubscribe (List-Unsubscribe), applied as by the link",
              },
            ),
            enrollmentId: Type.Optional(Type.String()),
            duplicate: Type.Optional(Type.Boolean()),
          }),
        },
      },
      preValidation: async (request) => {
        const rawBody = Buffer.isBuffer(request.body) ? request.body : undefined;
        authenticate(fastify.config.inboundWebhookSecret, request, rawBody ?? Buffer.alloc(0));
        request.body = jsonBody(request, rawBody) as InboundMail;
      },
    },
    async (request, reply) => {
      const result = await processInbound(fastify.db.pool, request.body);
      request.log.info({ inbound: result }, 'inbound mail processed');
      return reply.code(202).send(result);
    },
  );
};

export default inbound;
