#!/usr/bin/env node
// `pnpm dev`: answers --help, or refuses an unknown option, before building anything; then builds
// what the dev system needs (turbo, cached) and runs dist/cli.js in this process.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readArgs, USAGE } from './usage.mjs';

const args = readArgs(process.argv.slice(2));
if ('help' in args) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if ('error' in args) {
  process.stderr.write(args.error);
  process.exit(2);
}
const root = fileURLToPath(new URL('../..', import.meta.url));
const build = spawnSync(
  'pnpm',
  ['exec', 'turbo', 'run', 'build', '--filter=@prospectflow/dev...', '--output-logs=errors-only'],
  { cwd: root, stdio: 'inherit' },
);
if (build.status !== 0) process.exit(build.status ?? 1);
await import('./dist/cli.js');
