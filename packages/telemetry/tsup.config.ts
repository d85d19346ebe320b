import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    splitting: false,
  },
  // `node --import @prospectflow/telemetry/register`: ESM only (it registers an ESM loader hook).
  {
    entry: ['src/register.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    target: 'node20',
    splitting: false,
  },
]);
