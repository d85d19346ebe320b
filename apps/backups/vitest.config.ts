import { defineConfig } from 'vitest/config';

// No global setup: the suite needs a cluster pg_dump can back up (dumpableClusterUrl) and starts
// its own s3rver; the tests share one bucket and run in order.
export default defineConfig({
  test: {
    // Fails a test that sends a query on a pg client already executing one (pg 9 removes that).
    setupFiles: ['@prospectflow/testing/setup'],
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
