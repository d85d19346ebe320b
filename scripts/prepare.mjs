// Runs after `pnpm install`: builds the workspace once on a developer machine, so `pnpm dev` is
// ready seconds after it starts. Skipped in CI (its tasks build what they need) and where the
// sources are absent (the pruned install stage of the Dockerfiles).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (process.env.CI || process.env.PROSPECTFLOW_SKIP_PREPARE || !existsSync('tooling/dev/src/cli.ts')) {
  process.exit(0);
}
const build = spawnSync(
  'pnpm',
  ['turbo', 'run', 'build', '--filter=@prospectflow/dev...', '--output-logs=errors-only'],
  { stdio: 'inherit' },
);
process.exit(build.status ?? 1);
