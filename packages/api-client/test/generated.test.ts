import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('generated types', () => {
  it('generated/api.ts is what openapi-typescript makes of apps/ingest-api/openapi.json', () => {
    // --check: exit 1 when the committed file differs from a fresh generation.
    const run = spawnSync('pnpm', ['--silent', 'run', 'generate:check'], { cwd: root, encoding: 'utf8' });
    expect(
      run.status,
      `${run.stdout}${run.stderr}\nstale: run pnpm --filter @prospectflow/api-client generate and commit generated/api.ts`,
    ).toBe(0);
  }, 60_000);
});
