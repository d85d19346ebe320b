import { defineConfig } from 'tsup';

export default defineConfig({
  // The Prisma client generated into ../generated/prisma is bundled (its TypeScript is not shipped).
  entry: ['src/index.ts', 'src/cli.ts'],
  format: ['esm', 'cjs'],
  // Declarations for the library only (the CLI is an executable); one dts entry keeps rollup-plugin-dts happy.
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
  // import.meta.url (migrations directory, Prisma's generated client) in the CJS build.
  shims: true,
});
