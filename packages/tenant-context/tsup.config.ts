import { defineConfig } from 'tsup';

export default defineConfig({
  // `prisma` is its own entry so `import '@prospectflow/tenant-context'` never loads Prisma support.
  entry: { index: 'src/index.ts', prisma: 'src/prisma-entry.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // One copy of the async context shared by both entries (a second copy would not see the first's tenant).
  splitting: true,
});
