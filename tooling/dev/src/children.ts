import { type ChildProcess, spawn } from 'node:child_process';
import readline from 'node:readline';
import { printLine } from './logs.js';

export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

/** Runs `node <script>` with its output prettified under `name`. */
export function startNodeChild(name: string, script: string, env: NodeJS.ProcessEnv, cwd: string): Child {
  const child = spawn(process.execPath, ['--enable-source-maps', script], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream! }).on('line', (line) => printLine(name, line));
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    process: child,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
