/**
 * Vitest setup file (`setupFiles: ['@prospectflow/testing/setup']`): a test fails when code sends
 * a query on a pg client that already has one queued — node-postgres deprecates that ("Calling
 * client.query() when the client is already executing a query", removed in pg@9). Overlap must be
 * explicit: await each query, or use queryWithPrelude's single batch.
 */
import { type ExecFileOptions, execFile } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach } from 'vitest';
import { installOverlapGuard, OVERLAP_WARNING } from './overlap-guard.js';

export { OVERLAP_WARNING };

// One list per process, whichever module instance a test file imports this from.
const STORE = Symbol.for('@prospectflow/testing/overlaps');
const shared = globalThis as Record<symbol, Error[] | undefined>;
shared[STORE] ??= [];
const overlaps: Error[] = shared[STORE];

installOverlapGuard((overlap) => overlaps.push(overlap));

/** Node arguments that install the same guard in a process a test starts (put them before the script). */
export const CHILD_GUARD_ARGS = ['--import', '@prospectflow/testing/child-guard'];

/**
 * NODE_OPTIONS that install the guard in a process a test starts and in every Node process it
 * starts in turn, whatever their folder (`pnpm dev` starts the API and the worker). `tsxLoader` is
 * the caller's tsx (`createRequire(import.meta.url).resolve('tsx')`): the guard is TypeScript.
 */
export function childGuardNodeOptions(tsxLoader: string): string {
  const guard = new URL('./child-guard.ts', import.meta.url).href;
  return `--import ${pathToFileURL(tsxLoader).href} --import ${guard}`;
}

/**
 * Forwards a child's stderr to this process's (unless `forward: false`, for a test that reads it
 * itself) and records each overlap the child's guard prints, so the test that started it fails
 * like one that overlapped itself. Any stream the guard's lines reach will do (`pnpm dev` prints
 * its children's on its stdout).
 */
export function watchChildStderr(stderr: Readable | null, { forward = true } = {}): void {
  if (!stderr) return;
  let pending = '';
  stderr.on('data', (chunk: Buffer) => {
    if (forward) process.stderr.write(chunk);
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    recordOverlapLines(lines);
  });
}

function recordOverlapLines(lines: readonly string[]): void {
  for (const line of lines) if (line.includes(OVERLAP_WARNING)) overlaps.push(new Error(line));
}

const execFileAsync = promisify(execFile);

/**
 * Runs one of our TypeScript scripts to completion as tests run a CLI: `node [nodeArgs] --import
 * tsx <guard> script …args`. Its stdout and stderr are returned (and on a failure, on the error, as
 * execFile does); each overlap the child's guard printed fails the test that ran it.
 */
export async function runGuardedScript(
  script: string,
  args: readonly string[],
  options: ExecFileOptions & { nodeArgs?: readonly string[] } = {},
): Promise<{ stdout: string; stderr: string }> {
  const { nodeArgs = [], ...execOptions } = options;
  const argv = [...nodeArgs, '--import', 'tsx', ...CHILD_GUARD_ARGS, script, ...args];
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, argv, {
      ...execOptions,
      encoding: 'utf8',
    });
    recordOverlapLines(stderr.split('\n'));
    return { stdout, stderr };
  } catch (error) {
    recordOverlapLines(String((error as { stderr?: unknown }).stderr ?? '').split('\n'));
    throw error;
  }
}

/** Overlaps seen since the last call (tests of this guard take them so they do not fail). */
export function takeOverlaps(): Error[] {
  return overlaps.splice(0);
}

function failOnOverlap(): void {
  if (overlaps.length === 0) return;
  const found = takeOverlaps();
  throw new Error(
    `${found.length} overlapping pg quer${found.length === 1 ? 'y' : 'ies'} on one client:\n${found
      .map((e) => e.stack ?? e.message)
      .join('\n---\n')}`,
  );
}

afterEach(failOnOverlap);
afterAll(failOnOverlap);
