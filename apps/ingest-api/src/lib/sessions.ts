import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/**
 * Drops the cached sessions of users whose memberships changed. Call after the change has
 * committed. The change is already durable, so a cache failure (Redis down) is logged rather than
 * turned into an error: sessions are read from PostgreSQL while Redis is down, and a stale entry
 * written before the outage lives at most the session TTL.
 */
export async function invalidateSessions(
  fastify: FastifyInstance,
  log: FastifyBaseLogger,
  ...userIds: string[]
): Promise<void> {
  for (const userId of userIds) {
    try {
      await fastify.authServices.sessions.invalidate(userId);
    } catch (error) {
      log.error(
        { err: error, userId, degraded: true },
        'session invalidation failed; stale for at most the TTL',
      );
    }
  }
}
