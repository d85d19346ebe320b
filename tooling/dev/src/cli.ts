#!/usr/bin/env node
import { say } from './logs.js';
import { DevStartError } from './problems.js';
import { runDevSystem } from './system.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`Usage: pnpm dev [--reset]

Starts the whole ProspectFlow system locally: an embedded PostgreSQL 18 (data in .data/postgres,
kept between runs) unless DATABASE_ADMIN_URL or DATABASE_URL is set, roles, migrations, demo
data, an SMTP sink (unless SMTP_URL is set), ingest-api and worker.

  --reset   delete .data/postgres first (local dev data is lost)
`);
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
