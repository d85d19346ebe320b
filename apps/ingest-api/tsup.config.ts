import { defineConfig } from 'tsup';

// Apps ship plain ESM for `node dist/server.js`. Every module is emitted on its own (no bundle):
// @fastify/autoload discovers plugins and routes by walking dist/plugins and dist/routes.
export default defineConfig({
  entry: ['src/**/*.ts', '!src/**/*.test.ts'],
  bundle: false,
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
});
