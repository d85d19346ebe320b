import { defineConfig } from 'tsup';

/** One entry per audience (see README): importing one never loads another's dependencies. */
const libraries = {
  index: 'src/index.ts',
  prisma: 'src/prisma.ts',
  testing: 'src/testing.ts',
  validation: 'src/validation/index.ts',
};

export default defineConfig({
  // The Prisma client generated into ../generated/prisma is bundled into dist/prisma (its
  // TypeScript is not shipped); it imports @prisma/client's runtime, a peer dependency.
  entry: { ...libraries, cli: 'src/cli.ts' },
  format: ['esm', 'cjs'],
  // Declarations for the libraries only (the CLI is an executable).
  dts: { entry: libraries },
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
  // import.meta.url (migrations directory, Prisma's generated client) in the CJS build.
  shims: true,
});
