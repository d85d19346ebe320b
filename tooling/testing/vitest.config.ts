import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    setupFiles: ['./src/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
