import { type ChildProcess, spawn } from 'node:child_process';
import readline from 'node:readline';
import { printLine, warn } from './logs.js';

export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the exit code once the process has exited and its output is printed. */
  exited: Promise<number | null>;
  /**
   * SIGTERM, then the exit awaited for `graceMs` (default: the child's own stopGraceMs) before a
   * SIGKILL. Resolves once it has exited.
   */
  stop(graceMs?: number): Promise<void>;
}

export interface ChildOptions {
  /**
   * How long `stop()` waits after SIGTERM before SIGKILL: longer than the child's own shutdown
   * grace, or its graceful shutdown is cut short (the worker's in-flight tasks stay leased to it).
   */
  stopGraceMs?: number;
}

/**
 * Runs `node <script>` with its output prettified under `name`. It stays in pnpm dev's process
 * group, which is not the terminal's (cli.ts starts the runner detached): Ctrl-C reaches pnpm dev
 * only, and pnpm dev stops its children itself, one after the other (system.ts).
 */
export function startNodeChild(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  options: ChildOptions = {},
): Child {
  const child = spawn(process.execPath, ['--enable-source-maps', script], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    readline.createInterface({ input: stream! }).on('line', (line) => printLine(name, line));
  }
  // 'close', not 'exit': its last lines (the worker's "worker stopped") are printed by then.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    name,
    process: child,
    exited,
    async stop(graceMs = options.stopGraceMs ?? 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        warn(`${name} did not stop within ${graceMs / 1000} s of SIGTERM: killing it`);
        child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
