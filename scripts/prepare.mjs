#!/usr/bin/env node
// Runs after `pnpm install`: builds the workspace once on a developer machine, so `pnpm dev` is
// ready seconds after it starts. Skipped in CI (its tasks build what they need) and where the
// sources are absent (the pruned install stage of the Dockerfiles).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'usage: node scripts/prepare.mjs   (pnpm install runs it: builds what `pnpm dev` needs, once;\n' +
      '       skipped when CI or PROSPECTFLOW_SKIP_PREPARE is set)\n',
  );
  process.exit(0);
}

if (process.env.CI || process.env.PROSPECTFLOW_SKIP_PREPARE || !existsSync('tooling/dev/src/cli.ts')) {
  process.exit(0);
}
const build = spawnSync(
  'pnpm',
  ['turbo', 'run', 'build', '--filter=@prospectflow/dev...', '--output-logs=errors-only'],
  { stdio: 'inherit' },
);
process.exit(build.status ?? 1);
