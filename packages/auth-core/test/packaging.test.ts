import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/**
 * Runs a package script. The declaration build reads sibling packages' dist/, which a concurrent
 * rebuild elsewhere in the monorepo can remove for a moment, so a failure is retried twice; a
 * real problem fails all three attempts and its output is reported.
 */
function run(script: string): string {
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return execFileSync('pnpm', ['run', script], { cwd: packageDir, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      lastError = error;
      execFileSync('sleep', ['2']);
    }
  }
  const failure = lastError as { stdout?: string; stderr?: string; message: string };
  throw new Error(
    `pnpm run ${script} failed:\n${failure.stdout ?? ''}\n${failure.stderr ?? failure.message}`,
  );
}

describe('package', () => {
  it('builds every entry point and passes publint --strict and attw (node16) on the packed tarball', {
    timeout: 240_000,
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
    // check-exports exits non-zero (and run() throws) on any publint or attw problem.
    const output = run('check-exports');
    // attw prints a list or a table depending on the terminal; both keep one line per resolution mode.
    for (const entry of ['"@prospectflow/auth-core"', '"@prospectflow/auth-core/frontend"']) {
      expect(output).toContain(entry);
    }
    expect(output).toMatch(/node16 \(from CJS\)[^\n]*🟢 \(CJS\)/);
    expect(output).toMatch(/node16 \(from ESM\)[^\n]*🟢 \(ESM\)/);
    expect(output).not.toMatch(/node16[^\n]*(💀|❌)/);
  });
});
