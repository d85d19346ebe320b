import { markRequestScope } from '@prospectflow/tenant-context';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * First onRequest hook: echoes the request id (also the `instance` of every problem) and marks the
 * rest of the request as HTTP handling, so tenant-context refuses the system path inside it.
 */
async function requestContext(fastify: FastifyInstance) {
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    markRequestScope(done);
  });
}

export default fp(requestContext, { name: 'request-context', fastify: '5.x' });
