import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/main.ts', 'src/dev-smtp-sink.ts'],
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
});
