export { createTestDatabase, type TestDatabase, testEnvironment } from './database.js';
export {
  type PgBouncerOptions,
  type PgBouncerUser,
  type RunningPgBouncer,
  startPgBouncer,
} from './pgbouncer.js';
export { freePort, waitForPort } from './ports.js';
export {
  type EmbeddedOptions,
  type RunningPostgres,
  serverVersion,
  startEmbeddedPostgres,
  startTestPostgres,
} from './postgres.js';
export { type RunningRedis, startRedisServer, startTestRedis } from './redis.js';
export type { TestEnvironment } from './types.js';
export { withDatabase } from './urls.js';
