import { defineConfig } from 'tsup';

export default defineConfig({
  // `frontend` is a separate entry so the browser bundle never pulls in Node-only modules.
  entry: ['src/index.ts', 'src/frontend.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
});
