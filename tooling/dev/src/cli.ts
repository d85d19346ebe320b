#!/usr/bin/env node
import { USAGE } from '../usage.mjs';
import { say } from './logs.js';
import { DevStartError } from './problems.js';
import { runDevSystem } from './system.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const unknown = args.filter((a) => a !== '--reset');
if (unknown.length > 0) {
  process.stderr.write(`unknown option ${unknown.join(' ')} (see --help)\n`);
  process.exit(2);
}

let exitCode = 1;
try {
  exitCode = await runDevSystem({ reset: args.includes('--reset'), env: process.env });
} catch (error) {
  if (error instanceof DevStartError) {
    process.stderr.write(`\npnpm dev could not start: ${error.message}\n`);
  } else {
    process.stderr.write(`\npnpm dev could not start: ${(error as Error).stack ?? error}\n`);
  }
}
say('stopped');
// Explicit: a handle left open by a library must not keep a stopped system alive.
process.exit(exitCode);
