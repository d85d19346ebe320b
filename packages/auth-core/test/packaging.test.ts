import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const run = (script: string) =>
  execFileSync('pnpm', ['run', script], { cwd: packageDir, encoding: 'utf8', stdio: 'pipe' });

describe('package', () => {
  it('builds every entry point and passes publint --strict and attw (node16) on the packed tarball', {
    timeout: 180_000,
  }, () => {
    run('build');
    for (const file of [
      'index.js',
      'index.cjs',
      'index.d.ts',
      'index.d.cts',
      'frontend.js',
      'frontend.cjs',
      'frontend.d.ts',
      'frontend.d.cts',
    ]) {
      expect(fs.existsSync(path.join(packageDir, 'dist', file)), file).toBe(true);
    }
    const frontend = fs.readFileSync(path.join(packageDir, 'dist', 'frontend.js'), 'utf8');
    expect(frontend).not.toMatch(/from ['"](node:|ioredis|aws-jwt-verify|fastify)/);
    // check-exports exits non-zero (and execFileSync throws) on any publint or attw problem.
    const output = run('check-exports');
    for (const entry of ['"@prospectflow/auth-core"', '"@prospectflow/auth-core/frontend"']) {
      const section = output.slice(output.indexOf(entry));
      expect(section).toMatch(/node16 \(from CJS\): 🟢 \(CJS\)/);
      expect(section).toMatch(/node16 \(from ESM\): 🟢 \(ESM\)/);
    }
  });
});
