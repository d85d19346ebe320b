import { execFileSync, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { waitForPort } from './ports.js';

/**
 * The first of `candidates` that runs with `--version`; an explicit `<envVar>` is the only
 * candidate then (a wrong path should fail, not be papered over).
 */
export function findBinary(envVar: string, candidates: string[], missing: string): string {
  const explicit = process.env[envVar];
  for (const candidate of explicit ? [explicit] : candidates) {
    if (spawnSync(candidate, ['--version'], { encoding: 'utf8' }).status === 0) return candidate;
  }
  throw new Error(explicit ? `${envVar}=${explicit} does not run. ${missing}` : missing);
}

export interface OsUser {
  uid: number;
  gid: number;
  user: string;
  group: string;
}

/**
 * Who a system service runs as: pgBouncer and Dovecot refuse to run their processes as root, so as
 * root they run as the `postgres` OS user (embedded PostgreSQL's user too); otherwise as ourselves.
 */
export function serviceUser(service: string): OsUser & { root: boolean } {
  const id = (...args: string[]) => execFileSync('id', args).toString().trim();
  if (process.getuid?.() !== 0)
    return { uid: process.getuid!(), gid: process.getgid!(), user: id('-un'), group: id('-gn'), root: false };
  try {
    return {
      uid: Number(id('-u', 'postgres')),
      gid: Number(id('-g', 'postgres')),
      user: 'postgres',
      group: id('-gn', 'postgres'),
      root: true,
    };
  } catch {
    throw new Error(
      `Running as root, ${service} needs an OS user named "postgres" to run as (useradd postgres).`,
    );
  }
}

export interface Daemon {
  /** The tail of what it printed. */
  output(): string;
  /** SIGTERM, and the exit awaited (nothing to do when it has already exited). */
  stop(): Promise<void>;
}

/**
 * Starts a server in the foreground for the tests and waits until each of `ports` listens. The
 * tail of its output is kept for error messages, it is killed if the test process exits first, and
 * an exit before listening rejects with `describe(output)` (e.g. with its own log file added).
 */
export async function startDaemon(
  name: string,
  binary: string,
  args: string[],
  options: { ports: number[]; spawn?: Omit<SpawnOptions, 'stdio'>; describe?: (output: string) => string },
): Promise<Daemon> {
  let output = '';
  const child = spawn(binary, args, { ...options.spawn, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const describe = options.describe ?? ((text: string) => text);
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`${name} exited with code ${code} before listening:\n${describe(output)}`)),
    ),
  );
  exited.catch(() => {});
  try {
    await Promise.race([Promise.all(options.ports.map((port) => waitForPort(port))), exited]);
  } catch (error) {
    child.kill('SIGKILL');
    process.removeListener('exit', killOnExit);
    throw error;
  }
  return {
    output: () => output,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}
