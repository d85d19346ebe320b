import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import type { AppOptions } from '../../app.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The app's Redis (rate limits, readiness); null without REDIS_URL (development). */
    redis: Redis | null;
  }
}

/**
 * Fail fast rather than queue: a request must never wait seconds for a Redis that is down
 * (the rate limiter then fails open and /ready reports it).
 */
async function redisPlugin(fastify: FastifyInstance, opts: AppOptions) {
  const url = opts.config.redisUrl;
  if (!url) {
    fastify.log.warn('REDIS_URL is not set: rate limits are kept in process (development only)');
    fastify.decorate('redis', null);
    return;
  }
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 250,
    connectTimeout: 2000,
    lazyConnect: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let lastError = '';
  redis.on('error', (error: Error) => {
    // ioredis reports every reconnection attempt; log each distinct failure once.
    if (error.message !== lastError) fastify.log.warn({ err: error }, 'redis error');
    lastError = error.message;
  });
  redis.on('ready', () => {
    lastError = '';
  });
  redis.connect().catch((error: Error) => fastify.log.warn({ err: error }, 'redis not reachable at start'));
  fastify.decorate('redis', redis);
  fastify.addHook('onClose', async () => {
    redis.disconnect();
  });
}

export default fp(redisPlugin, { name: 'redis', fastify: '5.x' });
