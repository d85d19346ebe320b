import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  splitting: false,
  // The two country-name tables are inlined: Node's ESM loader would need import attributes.
  noExternal: [/^i18n-iso-countries\/langs\//],
});
