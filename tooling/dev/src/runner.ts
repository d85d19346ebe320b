/**
 * The dev system itself (system.ts), started by cli.ts in a process group of its own: the
 * terminal's Ctrl-C reaches cli.ts only, which passes it on here; PostgreSQL, Dovecot, the API and
 * the worker (all started from here, so in this group) are then stopped one after the other. The
 * IPC channel to cli.ts closing (cli.ts gone, even killed with SIGKILL) stops everything too.
 */
import { say } from './logs.js';
import { DevStartError } from './problems.js';
import { runDevSystem } from './system.js';

if (!process.send) {
  process.stderr.write('runner.js is started by cli.js (pnpm dev): run that instead\n');
  process.exit(2);
}
// Not what keeps this process alive: 'disconnect' still comes when cli.ts goes away.
process.channel?.unref();
// A terminal closed under us (EIO) or a reader gone (EPIPE) must not cut the ordered stop short.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

const args = process.argv.slice(2);
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
// Everything was stopped in order; sweep the group (ours, as its leader) for anything that was
// not, e.g. a PostgreSQL whose data directory was deleted under it (no pid file to find it by).
process.on('SIGTERM', () => {});
try {
  process.kill(-process.pid, 'SIGTERM');
} catch {
  // no group: not started by cli.ts
}
// Explicit: a handle left open by a library must not keep a stopped system alive.
process.exit(exitCode);
