import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/cli.ts', 'src/runner.ts', 'src/smtp-sink.ts'],
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
});
