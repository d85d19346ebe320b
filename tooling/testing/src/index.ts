export { createTestDatabase, type TestDatabase, testEnvironment, testMail } from './database.js';
export { startTestDns, type TestDns } from './dns.js';
export {
  failTokenRefreshes,
  issueRefreshToken,
  type MailAccounts,
  mailPassword,
  type RunningTestMail,
  revokeRefreshToken,
  setMailPassword,
  startTestMail,
  type TestMailEnvironment,
  type TokenRefreshFailure,
} from './mail/index.js';
export { dumpableClusterUrl, toolMajor } from './pg-dump.js';
export {
  type PgBouncerOptions,
  type PgBouncerUser,
  type RunningPgBouncer,
  startPgBouncer,
} from './pgbouncer.js';
export { freePort, freePorts, waitForPort } from './ports.js';
export {
  type EmbeddedOptions,
  type RunningPostgres,
  serverVersion,
  startEmbeddedPostgres,
  startTestPostgres,
} from './postgres.js';
export { PostgresStartError } from './postgres-access.js';
export { type RunningRedis, startRedisServer, startTestRedis } from './redis.js';
export { type RunningS3, type S3rverOptions, startS3rver, startTestS3, type TestS3 } from './s3.js';
export { serviceUser } from './system-service.js';
export type { TestEnvironment } from './types.js';
export { withDatabase } from './urls.js';
