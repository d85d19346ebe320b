import { defineConfig } from 'tsup';

export default defineConfig({
  // The Prisma client generated into ../generated/prisma is bundled (its TypeScript is not shipped).
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
  // import.meta.url (migrations directory, Prisma's generated client) in the CJS build.
  shims: true,
});
