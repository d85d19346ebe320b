import type { TestMailEnvironment } from './mail/index.js';
import type { TestS3 } from './s3.js';

export interface TestEnvironment {
  /** Superuser URL to the `postgres` database of the test cluster. */
  adminUrl: string;
  /** e.g. "18.4" or "15.19". */
  serverVersion: string;
  embedded: boolean;
  /** Every database of this run starts with this prefix. */
  runPrefix: string;
  /** Migrated database that test databases are cloned from. */
  templateDatabase: string;
  /** Redis of this run ('' when the setup was told not to start one). */
  redisUrl: string;
  /** S3 wire-protocol server of this run (null unless the setup was asked for one). */
  s3: TestS3 | null;
  /** The mail system of this run (Dovecot + SMTP + OAuth), when the setup was asked for it. */
  mail?: TestMailEnvironment;
}

declare module 'vitest' {
  export interface ProvidedContext {
    prospectflowTest: TestEnvironment;
  }
}
