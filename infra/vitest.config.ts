import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Fails a test that sends a query on a pg client already executing one (pg 9 removes that).
    setupFiles: ['@prospectflow/testing/setup'],
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Backup tests create and drop databases of their own; files run one after another.
    fileParallelism: false,
  },
});
