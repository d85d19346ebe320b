import { ATTR, annotateRequestSpan, redactTracedUrls } from '@prospectflow/telemetry';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { redactUrl } from '../../lib/log-redaction.js';

/**
 * Names the request span (created by @fastify/otel when tracing is on) with the request id and
 * the organisation the request runs for, so a trace can be found from a log line or a tenant.
 * Request URLs reach spans as they reach the logs: path tokens (/u/…, /t/…) and query strings
 * redacted. A no-op when tracing is off.
 */
async function tracing(fastify: FastifyInstance) {
  redactTracedUrls(redactUrl);
  // onSend runs for every answer, refusals included (401 and 429 from onRequest hooks, 400 from
  // validation), which a preHandler never sees — and those are the ones a log line most often
  // leads to. It runs before @fastify/otel ends the span (in the route's last onSend).
  fastify.addHook('onSend', (request, _reply, payload, done) => {
    const organisationId = request.auth?.organisation?.organisationId;
    annotateRequestSpan(request, {
      [ATTR.requestId]: request.id,
      ...(organisationId ? { [ATTR.organisationId]: organisationId } : {}),
    });
    done(null, payload);
  });
}

export default fp(tracing, { name: 'tracing', fastify: '5.x' });
