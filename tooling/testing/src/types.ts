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
}

declare module 'vitest' {
  export interface ProvidedContext {
    prospectflowTest: TestEnvironment;
  }
}
