import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Backup tests create and drop databases of their own; files run one after another.
    fileParallelism: false,
  },
});
