import { Redis, type RedisOptions } from 'ioredis';
import { type AuthLogger, silentLogger } from './logger.js';

/**
 * ioredis tuned to fail fast: with the defaults a GET against a dead Redis waits ~10 s in the
 * offline queue and retries 20 times; here it fails within `commandTimeout`, so the session
 * service can fall back to PostgreSQL while ioredis reconnects in the background.
 */
export function createSessionRedis(
  url: string,
  options: { logger?: AuthLogger; redisOptions?: RedisOptions } = {},
): Redis {
  const logger = options.logger ?? silentLogger;
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 200,
    connectTimeout: 2000,
    lazyConnect: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    ...options.redisOptions,
  });
  let reported = false;
  // Without a listener ioredis prints every connection error as an unhandled 'error' event.
  redis.on('error', (error) => {
    if (!reported) logger.warn({ err: error }, 'session Redis unavailable');
    reported = true;
  });
  redis.on('ready', () => {
    if (reported) logger.info({}, 'session Redis available again');
    reported = false;
  });
  // lazyConnect: start connecting now, but never reject the caller over it.
  redis.connect().catch(() => {});
  return redis;
}
