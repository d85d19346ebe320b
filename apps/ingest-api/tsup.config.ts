import { defineConfig } from 'tsup';

// Apps ship plain ESM for `node dist/server.js`; workspace libraries stay external (they are built).
export default defineConfig({
  entry: ['src/server.ts', 'src/app.ts'],
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
});
