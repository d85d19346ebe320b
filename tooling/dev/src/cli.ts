#!/usr/bin/env node
/**
 * `pnpm dev`: starts the dev system (runner.ts) in a process group of its own and stays in the
 * terminal's. Ctrl-C in a terminal signals its whole foreground group at once; were PostgreSQL,
 * Dovecot, the API and the worker in it, PostgreSQL would shut down while the worker was still
 * handing back its tasks (left leased to a dead worker until their lease ran out). Here only this
 * process gets it, and passes it on: the runner stops them one after the other, the worker first.
 *
 * Ctrl-C twice: the runner says it is still stopping; a third time kills the runner's whole group
 * (signals less than a second apart count as one: pnpm adds a SIGTERM to the terminal's SIGINT).
 * This process killed (even SIGKILL): the runner sees its IPC channel close and stops everything.
 * The runner killed: this process kills what it started (its process group) and exits 1.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readArgs, USAGE } from '../usage.mjs';
import { warn } from './logs.js';

const argv = process.argv.slice(2);
const args = readArgs(argv);
if ('help' in args) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if ('error' in args) {
  process.stderr.write(args.error);
  process.exit(2);
}

const runner = spawn(
  process.execPath,
  ['--enable-source-maps', fileURLToPath(new URL('./runner.js', import.meta.url)), ...argv],
  // detached: a new session and process group (the runner's pid), away from the terminal's.
  { detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
);

/** Signals every process the runner started (they share its process group), the runner included. */
function signalGroup(signal: NodeJS.Signals): void {
  try {
    process.kill(-runner.pid!, signal);
  } catch {
    // nothing left in the group
  }
}

// One Ctrl-C under `pnpm dev` arrives twice: the terminal's SIGINT, and pnpm's SIGTERM to its
// child. Signals within a second of the previous one count as the same.
const SAME_SIGNAL_MS = 1_000;
let signals = 0;
let lastSignalAt = 0;
const onSignal = (signal: NodeJS.Signals) => {
  if (Date.now() - lastSignalAt < SAME_SIGNAL_MS) return;
  lastSignalAt = Date.now();
  signals += 1;
  if (signals >= 3) {
    warn(`${signal} a third time: killing everything pnpm dev started`);
    signalGroup('SIGKILL');
    process.exit(130);
  }
  try {
    runner.kill(signal);
  } catch {
    // already gone: its 'exit' below ends this process
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('SIGHUP', onSignal);

runner.once('exit', (code, signal) => {
  if (signal) {
    warn(`the dev system was killed (${signal}): stopping what it had started`);
    signalGroup('SIGTERM');
    process.exit(1);
  }
  // It stops everything before it exits; anything of its group still alive would be a leak.
  signalGroup('SIGTERM');
  process.exit(code ?? 1);
});
