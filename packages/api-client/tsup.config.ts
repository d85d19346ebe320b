import { defineConfig } from 'tsup';

// ESM only: browsers and bundlers import it, and Node ≥ 20.19 can require() it.
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  splitting: false,
});
